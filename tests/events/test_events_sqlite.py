"""The embedded default: the core events flow on SQLite (aiosqlite), migrated by Alembic."""

from __future__ import annotations

import httpx
import pytest
import vobject

from booking.runtime import Runtime
from tests.events_helpers import distinct_couples, event_body, signup_body
from tests.factories import GD_OFFICE, make_actor

pytestmark = [pytest.mark.asyncio, pytest.mark.sqlite]


async def test_events_flow_on_sqlite(sqlite_client: httpx.AsyncClient, sqlite_runtime: Runtime):
    client, rt = sqlite_client, sqlite_runtime
    admin = await make_actor(rt, "admin")
    oid = (await client.post("/api/v1/offices", json=GD_OFFICE, headers=admin.headers)).json()["id"]
    clerk = await make_actor(rt, "clerk", oid)
    event = await client.post("/api/v1/events", json=event_body(oid, capacity=1, guests_per_couple=2),
                              headers=clerk.headers)
    assert event.status_code == 201, event.text
    event_id = event.json()["id"]
    assert event.json()["starts_at"] == "2026-10-10T10:00:00+08:00"  # UTC survives SQLite

    couples = [await make_actor(rt, "couple") for _ in range(3)]
    people = distinct_couples(3)
    answers = []
    for couple, parties in zip(couples, people, strict=True):
        response = await client.post(f"/api/v1/events/{event_id}/signups", json=signup_body(parties, guests=1),
                                     headers={**couple.headers, "Idempotency-Key": "k1"})
        assert response.status_code == 201, response.text
        answers.append(response.json())
    assert [(a["status"], a["waitlist_position"]) for a in answers] == [
        ("confirmed", None), ("waitlisted", 1), ("waitlisted", 2)]
    replay = await client.post(f"/api/v1/events/{event_id}/signups", json=signup_body(people[0], guests=1),
                               headers={**couples[0].headers, "Idempotency-Key": "k1"})
    assert replay.status_code == 201 and replay.json() == answers[0]
    reused = await client.post(f"/api/v1/events/{event_id}/signups", json=signup_body(people[1]),
                               headers={**couples[0].headers, "Idempotency-Key": "k1"})
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency-key-reused"
    twice = await client.post(f"/api/v1/events/{event_id}/signups", json=signup_body(people[1]),
                              headers=couples[0].headers)
    assert twice.status_code == 409 and twice.json()["code"] == "already-signed-up"  # the partial unique index

    cancelled = await client.post(f"/api/v1/signups/{answers[0]['id']}/cancel", headers=couples[0].headers)
    assert cancelled.status_code == 200
    promoted = await client.get(f"/api/v1/signups/{answers[1]['id']}", headers=couples[1].headers)
    assert promoted.json()["status"] == "confirmed"
    detail = (await client.get(f"/api/v1/events/{event_id}")).json()
    assert (detail["places_taken"], detail["remaining_guest_seats"], detail["waitlisted"]) == (1, 1, 1)
    invite = await client.get(f"/api/v1/signups/{answers[1]['id']}/invite.ics", headers=couples[1].headers)
    assert vobject.readOne(invite.text).method.value == "REQUEST"
    feed = await client.get(f"/api/v1/calendars/offices/{oid}/events.ics")
    assert vobject.readOne(feed.text).vevent.uid.value == f"event-{event_id}@booking.marriage-registry"
    assert (await client.post(f"/api/v1/events/{event_id}/cancel", json={"reason": "暴雨"},
                              headers=clerk.headers)).status_code == 200
    assert (await client.get(f"/api/v1/signups/{answers[2]['id']}",
                             headers=couples[2].headers)).json()["status"] == "cancelled"
