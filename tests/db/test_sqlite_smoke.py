"""The embedded default: the core flow on SQLite (aiosqlite), migrated by Alembic."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from booking.clock import FixedClock
from booking.runtime import Runtime
from tests.factories import GD_OFFICE, couple_parties, make_actor, weekday_schedule
from tests.applications.test_applications import pdf_with_metadata

pytestmark = [pytest.mark.asyncio, pytest.mark.sqlite]


async def test_core_flow_on_sqlite(sqlite_client: httpx.AsyncClient, sqlite_runtime: Runtime, clock: FixedClock):
    clock.set(datetime(2026, 9, 14, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai
    client = sqlite_client
    admin = await make_actor(sqlite_runtime, "admin")
    response = await client.post("/api/v1/offices", json=GD_OFFICE, headers=admin.headers)
    assert response.status_code == 201, response.text
    oid = response.json()["id"]
    clerk = await make_actor(sqlite_runtime, "clerk", oid)
    other = await client.post("/api/v1/offices", json={**GD_OFFICE, "code": "OTHER"}, headers=admin.headers)
    other_clerk = await make_actor(sqlite_runtime, "clerk", other.json()["id"])
    assert (await client.put(f"/api/v1/offices/{oid}/schedule", json=weekday_schedule(capacity=5),
                             headers=clerk.headers)).status_code == 200
    assert (await client.put(f"/api/v1/offices/{oid}/schedule", json=weekday_schedule(),
                             headers=other_clerk.headers)).status_code == 404

    generated = await client.post(f"/api/v1/offices/{oid}/slots/generate",
                                  json={"from": "2026-09-14", "to": "2026-10-31"}, headers=clerk.headers)
    assert generated.status_code == 200 and generated.json()["created"] == 62
    again = await client.post(f"/api/v1/offices/{oid}/slots/generate",
                              json={"from": "2026-09-14", "to": "2026-10-31"}, headers=clerk.headers)
    assert again.json()["created"] == 0

    slots = (await client.get(f"/api/v1/offices/{oid}/slots?from=2026-09-14&to=2026-10-31",
                              headers=clerk.headers)).json()["data"]
    dates = {s["date"] for s in slots}
    assert "2026-09-20" in dates and "2026-10-10" in dates and "2026-10-01" not in dates
    assert slots[0]["starts_at"] == "2026-09-14T01:00:00Z"  # UTC survives SQLite

    # 09:00 Shanghai on 2026-09-14 (after the 08:30 release): released through 09-29, bookable from 09-15
    available = await client.get(f"/api/v1/offices/{oid}/availability?service=marriage_registration")
    assert available.status_code == 200
    days = sorted({s["starts_at"][:10] for s in available.json()["data"]})
    assert days[0] == "2026-09-15" and days[-1] == "2026-09-29" and "2026-09-20" in days
    assert available.json()["data"][0]["starts_at"] == "2026-09-15T09:00:00+08:00"

    bad = await client.get(f"/api/v1/offices/{oid}/availability?service=x", headers={"Accept-Language": "en"})
    assert bad.status_code == 422 and bad.json()["title"] == "The input is not valid."
    capacity = await client.patch(f"/api/v1/slots/{slots[0]['id']}", json={"capacity": -1}, headers=clerk.headers)
    assert capacity.status_code == 422 and capacity.json()["title"] == "输入无效。"

    # a booking through the transactional store, its invite (the office cache is cold in
    # tests: the lookup must reuse the request's transaction, or SQLite waits on itself)
    couple = await make_actor(sqlite_runtime, "couple")
    slot_id = available.json()["data"][0]["slot_id"]
    parties = couple_parties()
    booked = await client.post("/api/v1/appointments", headers=couple.headers, json={
        "slot_id": slot_id, "service": "marriage_registration", "parties": parties})
    assert booked.status_code == 201, booked.text
    # 实名 on the portable store too: the account is bound to its holder and books once per service
    again = await client.post("/api/v1/appointments", headers=couple.headers, json={
        "slot_id": slot_id, "service": "marriage_registration", "parties": couple_parties()})
    assert again.status_code == 409 and again.json()["code"] == "not-the-account-holder"
    twice = await client.post("/api/v1/appointments", headers=couple.headers, json={
        "slot_id": slot_id, "service": "marriage_registration", "parties": [parties[0], couple_parties()[1]]})
    assert twice.status_code == 409 and twice.json()["code"] == "account-already-booked"
    other = await make_actor(sqlite_runtime, "couple")
    again = await client.post("/api/v1/appointments", headers=other.headers, json={
        "slot_id": slot_id, "service": "marriage_registration", "parties": couple_parties()})
    assert again.status_code == 201
    invite = await client.get(f"/api/v1/appointments/{booked.json()['id']}/invite.ics", headers=couple.headers)
    assert invite.status_code == 200 and "BEGIN:VEVENT" in invite.text
    # reminders derived when due on the embedded default too: once, then the next moment
    from tests.helpers import derive_reminders, remind_at

    day_before = datetime(2026, 9, 14, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai
    assert await remind_at(sqlite_runtime, booked.json()["id"]) == day_before
    assert await derive_reminders(sqlite_runtime, day_before) == 2  # both couples' appointments
    assert await derive_reminders(sqlite_runtime, day_before) == 0
    assert await remind_at(sqlite_runtime, booked.json()["id"]) == datetime(2026, 9, 14, 23, 0, tzinfo=UTC)
    cancelled = await client.post(f"/api/v1/appointments/{booked.json()['id']}/cancel", headers=couple.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert await remind_at(sqlite_runtime, booked.json()["id"]) is None
    async with sqlite_runtime.db.session() as session:
        from sqlalchemy import text

        states = sorted(tuple(r) for r in await session.execute(text(
            "SELECT channel, state FROM notification WHERE kind = 'appointment.reminder'")))
    assert states == [("email", "cancelled"), ("email", "pending"), ("sms", "cancelled"), ("sms", "pending")]


async def test_cross_province_application_on_sqlite(sqlite_client: httpx.AsyncClient, sqlite_runtime: Runtime):
    """The embedded default runs the pre-review too: the portable store opens the
    application with the held seat, the seeded policy applies, approval and expiry work."""
    from booking.applications.services import expire_holds
    from tests.factories import couple_parties

    client = sqlite_client
    admin = await make_actor(sqlite_runtime, "admin")
    oid = (await client.post("/api/v1/offices", json=GD_OFFICE, headers=admin.headers)).json()["id"]
    clerk = await make_actor(sqlite_runtime, "clerk", oid)
    await client.put(f"/api/v1/offices/{oid}/schedule", json=weekday_schedule(capacity=5), headers=clerk.headers)
    await client.post(f"/api/v1/offices/{oid}/slots/generate", json={"from": "2026-09-14", "to": "2026-09-30"},
                      headers=clerk.headers)
    slot = (await client.get(f"/api/v1/offices/{oid}/slots?from=2026-09-16&to=2026-09-16",
                             headers=clerk.headers)).json()["data"][0]
    couples = [await make_actor(sqlite_runtime, "couple") for _ in range(2)]
    apps = []
    for couple in couples:
        response = await client.post("/api/v1/cross-province-applications", headers=couple.headers,
                                     json={"slot_id": slot["id"], "service": "marriage_registration",
                                           "parties": couple_parties(region="510104", hukou="51")})
        assert response.status_code == 201, response.text
        apps.append(response.json())
    assert apps[0]["policy_period_id"] == 3 and apps[0]["appointment"]["status"] == "pending_review"
    for kind, party in (("id_card", 1), ("id_card", 2), ("no_spouse_declaration", 1), ("no_spouse_declaration", 2)):
        uploaded = await client.post(f"/api/v1/cross-province-applications/{apps[0]['id']}/documents",
                                     data={"kind": kind, "party": str(party)},
                                     files={"file": ("scan.pdf", pdf_with_metadata(), "application/pdf")},
                                     headers=couples[0].headers)
        assert uploaded.status_code == 201, uploaded.text
    approved = await client.post(f"/api/v1/cross-province-applications/{apps[0]['id']}/decision",
                                 json={"decision": "approve"}, headers=clerk.headers)
    assert approved.status_code == 200 and approved.json()["appointment"]["status"] == "confirmed"
    sqlite_runtime.clock.advance(hours=73)  # type: ignore[attr-defined]
    assert await expire_holds(sqlite_runtime) == 1 and await expire_holds(sqlite_runtime) == 0
    slots = (await client.get(f"/api/v1/offices/{oid}/slots?from=2026-09-16&to=2026-09-16",
                              headers=clerk.headers)).json()["data"]
    assert slots[0]["booked"] == 1  # the approved seat stays, the expired hold went back


async def test_a_ballot_on_sqlite(sqlite_client: httpx.AsyncClient, sqlite_runtime: Runtime, clock: FixedClock):
    """The embedded default runs ballots too: entries (and the one-hold-per-person
    triggers), the draw, a booking refused before it, and a promotion."""
    from booking.ballots.draw import draw_due
    from tests.ballot_helpers import (
        AFTER_DRAW,
        BEFORE_WINDOW,
        IN_WINDOW,
        couple_of,
        enter_all,
        peak_office,
        set_up_ballot,
    )

    clock.set(BEFORE_WINDOW)
    admin = await make_actor(sqlite_runtime, "admin")
    office = await peak_office(sqlite_client, sqlite_runtime, admin, capacity=1)
    ballot = await set_up_ballot(sqlite_client, office)
    clock.set(IN_WINDOW)
    couples = [await make_actor(sqlite_runtime, "couple") for _ in range(4)]
    entries = await enter_all(sqlite_client, ballot["id"], couples)
    twice = await sqlite_client.post(f"/api/v1/ballots/{ballot['id']}/entries", headers=couples[0].headers,
                                     json={"parties": couple_of(1)})  # the second couple's people
    assert twice.status_code == 409 and twice.json()["code"] == "ballot-already-entered"
    clock.set(AFTER_DRAW)
    assert await draw_due(sqlite_runtime) == 1
    public = (await sqlite_client.get(f"/api/v1/ballots/{ballot['id']}")).json()
    assert len(public["winners"]) == 2 and len(public["entry_ids"]) == 4
    by_entry = {e["id"]: c for e, c in zip(entries, couples, strict=True)}
    winner = public["winners"][0]
    withdrawn = await sqlite_client.post(f"/api/v1/ballot-entries/{winner}/withdraw",
                                         headers=by_entry[winner].headers)
    assert withdrawn.status_code == 200, withdrawn.text
    states = [(await sqlite_client.get(f"/api/v1/ballot-entries/{e}", headers=by_entry[e].headers)).json()["state"]
              for e in public["entry_ids"]]
    assert sorted(states) == ["waitlisted", "withdrawn", "won", "won"]

