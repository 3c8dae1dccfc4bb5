"""Secret, revocable calendar feeds: a couple's appointments and an office's roster."""

from __future__ import annotations

import pytest
import vobject

from tests.factories import couple_parties, make_actor, open_office
from tests.appointments.test_appointments import body, slot_on

pytestmark = pytest.mark.asyncio


async def test_couple_feed_lists_own_appointments_until_revoked(client, runtime, admin, couple):
    office = await open_office(client, runtime, admin)
    parties = couple_parties()
    booked = (await client.post("/api/v1/appointments", json=body(await slot_on(client, office, "2026-09-15"),
                                                                  parties), headers=couple.headers)).json()
    created = await client.post("/api/v1/calendars/feeds", json={"kind": "couple"}, headers=couple.headers)
    assert created.status_code == 201
    url = created.json()["url"]
    path = url.split("://", 1)[1].split("/", 1)[1]
    token = path.rsplit("/", 1)[1][:-4]
    assert len(token) >= 40  # unguessable
    feed = await client.get("/" + path, headers={"Accept-Language": "en"})
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    calendar = vobject.readOne(feed.text)
    assert calendar.method.value == "PUBLISH"
    events = calendar.contents["vevent"]
    assert [e.uid.value for e in events] == [f"appointment-{booked['id']}@booking.marriage-registry"]
    assert all(p["id_number"] not in feed.text and p["phone"] not in feed.text for p in parties)
    # listed without its secret, not readable by others' tokens, gone once revoked
    listed = (await client.get("/api/v1/calendars/feeds", headers=couple.headers)).json()["data"]
    assert [f["id"] for f in listed] == [created.json()["id"]] and "url" not in listed[0]
    assert (await client.get("/api/v1/calendars/feeds/not-a-token.ics")).status_code == 404
    stranger = await make_actor(runtime, "couple")
    assert (await client.delete(f"/api/v1/calendars/feeds/{created.json()['id']}",
                                headers=stranger.headers)).status_code == 404
    assert (await client.delete(f"/api/v1/calendars/feeds/{created.json()['id']}",
                                headers=couple.headers)).status_code == 204
    assert (await client.get("/" + path)).status_code == 404


async def test_roster_feed_for_the_office_clerks(client, runtime, admin, couple):
    office = await open_office(client, runtime, admin)
    parties = couple_parties()
    booked = (await client.post("/api/v1/appointments", json=body(await slot_on(client, office, "2026-09-16"),
                                                                  parties), headers=couple.headers)).json()
    assert (await client.post("/api/v1/calendars/feeds", json={"kind": "roster", "office_id": office.id},
                              headers=couple.headers)).status_code == 403
    other = await open_office(client, runtime, admin, code="OTHER")
    assert (await client.post("/api/v1/calendars/feeds", json={"kind": "roster", "office_id": office.id},
                              headers=other.clerk.headers)).status_code == 404
    created = await client.post("/api/v1/calendars/feeds", json={"kind": "roster", "office_id": office.id},
                                headers=office.clerk.headers)
    assert created.status_code == 201
    path = created.json()["url"].split("://", 1)[1].split("/", 1)[1]
    feed = await client.get("/" + path)
    event = vobject.readOne(feed.text).vevent
    assert booked["code"][:4] in event.summary.value
    assert all(p["name"] not in feed.text and p["id_number"] not in feed.text for p in parties)
    audit = (await client.get(f"/api/v1/audit?office_id={office.id}&action=calendar_feed.create",
                              headers=admin.headers)).json()["data"]
    assert len(audit) == 1 and audit[0]["actor_id"] == str(office.clerk.id)
