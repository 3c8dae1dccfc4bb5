"""One scenario through every area that takes personal data (accounts, bookings, walk-ins,
reveals, cross-province applications and scans, events and sign-ups with a contact,
calendar feeds, refused input, throttled logins), for the privacy tests to search what it
leaves behind: the database dump, the logs, Redis, the e-mails."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from booking.runtime import Runtime
from tests.events_helpers import create_event, signup_body
from tests.factories import couple_parties, make_actor, open_office, phone, resident_id
from tests.applications.test_applications import APPS, pdf_with_metadata, upload

# regions no office of the scenario has as its division code (a six-digit region found in
# a dump must then come from a party)
REGIONS = ("110105", "510104", "320102", "330106")


@dataclass
class Secrets:
    id_numbers: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    birth_dates: list[date] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)

    def add_parties(self, parties: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for p in parties:
            self.id_numbers.append(p["id_number"])
            self.phones.append(p["phone"])
            number = p["id_number"]
            self.birth_dates.append(date(int(number[6:10]), int(number[10:12]), int(number[12:14])))
            self.regions.append(number[:6])
        return parties


def _couple(n: int, region: str, hukou: str | None = "44") -> list[dict[str, Any]]:
    return couple_parties(groom_birth=date(1990, 2, 3 + n), bride_birth=date(1993, 4, 5 + n), region=region,
                          hukou=hukou)


async def run_scenario(client: httpx.AsyncClient, runtime: Runtime) -> Secrets:
    secrets = Secrets()
    admin = await make_actor(runtime, "admin")
    office = await open_office(client, runtime, admin)
    slots = (await client.get(f"/api/v1/offices/{office.id}/slots?from=2026-09-15&to=2026-09-17",
                              headers=office.clerk.headers)).json()["data"]

    # an account with a phone; its owner logs in, once wrongly
    own_phone = phone()
    secrets.phones.append(own_phone)
    await client.post("/api/v1/auth/register", json={"email": "wed@example.com", "password": "password-1",
                                                       "name": "王芳", "phone": own_phone})
    await client.post("/api/v1/auth/login", json={"email": "wed@example.com", "password": "wrong-wrong"})
    token = (await client.post("/api/v1/auth/login", json={"email": "wed@example.com",
                                                           "password": "password-1"})).json()["access_token"]
    owner = {"Authorization": f"Bearer {token}"}

    # a booking (with an Idempotency-Key), rescheduled; its invite and a feed
    parties = secrets.add_parties(_couple(0, REGIONS[0]))
    booked = (await client.post("/api/v1/appointments", headers={**owner, "Idempotency-Key": "k-1"},
                                json={"slot_id": slots[0]["id"], "service": "marriage_registration",
                                      "parties": parties})).json()
    assert booked["status"] == "confirmed", booked
    await client.post(f"/api/v1/appointments/{booked['id']}/reschedule", json={"slot_id": slots[1]["id"]},
                      headers=owner)
    await client.get(f"/api/v1/appointments/{booked['id']}/invite.ics", headers=owner)
    feed = (await client.post("/api/v1/calendars/feeds", json={"kind": "couple"}, headers=owner)).json()
    await client.get("/" + feed["url"].split("://", 1)[1].split("/", 1)[1])
    # a clerk reveals it (audited) and books a walk-in
    await client.post(f"/api/v1/appointments/{booked['id']}/reveal", headers=office.clerk.headers)
    walk_in = secrets.add_parties(_couple(1, REGIONS[1]))
    assert (await client.post(f"/api/v1/offices/{office.id}/appointments", headers=office.clerk.headers,
                              json={"slot_id": slots[2]["id"], "service": "marriage_registration",
                                    "parties": walk_in})).status_code == 201

    # a cross-province application with a scan, decided
    applicant = await make_actor(runtime, "couple")
    nonlocal_couple = secrets.add_parties(_couple(2, REGIONS[2], hukou="32"))
    app = (await client.post(APPS, headers=applicant.headers, json={
        "slot_id": slots[3]["id"], "service": "marriage_registration", "parties": nonlocal_couple})).json()
    assert (await upload(client, applicant, app["id"], "id_card", 1, pdf_with_metadata())).status_code == 201
    await client.post(f"{APPS}/{app['id']}/decision", json={"decision": "approve"}, headers=office.clerk.headers)

    # an event, a sign-up with a contact, the organiser's export
    event = await create_event(client, office.clerk, office.id)
    signer = await make_actor(runtime, "couple")
    contact_phone = phone()
    secrets.phones.append(contact_phone)
    signed = secrets.add_parties(_couple(3, REGIONS[3]))
    assert (await client.post(f"/api/v1/events/{event['id']}/signups", headers=signer.headers, json=signup_body(
        signed, contact={"name": "王小明", "phone": contact_phone}))).status_code == 201
    await client.get(f"/api/v1/events/{event['id']}/signups.csv", headers=office.clerk.headers)

    # refused input: a wrong check character, a phone in a bad shape
    bad_number = resident_id(date(1991, 1, 1), "M", REGIONS[0])
    bad_number = bad_number[:-1] + ("1" if bad_number[-1] != "1" else "2")
    secrets.id_numbers.append(bad_number)
    refused = await client.post("/api/v1/appointments", headers=signer.headers, json={
        "slot_id": slots[0]["id"], "service": "marriage_registration",
        "parties": [{**parties[0], "id_number": bad_number}, parties[1]]})
    assert refused.status_code == 422
    return secrets
