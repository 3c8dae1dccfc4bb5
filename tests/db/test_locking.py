"""A row held too long by another transaction: the request that waits for it gets a 503
problem with Retry-After once the lock timeout passes, writes nothing, and never a 500."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tests.factories import couple_parties, make_actor, open_office

pytestmark = pytest.mark.asyncio


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"lock_timeout_seconds": 0.3}


async def test_a_lock_held_past_the_timeout_is_a_503_and_changes_nothing(client, runtime, admin):
    office = await open_office(client, runtime, admin)
    slots = (await client.get(f"/api/v1/offices/{office.id}/slots?from=2026-09-16&to=2026-09-16",
                              headers=office.clerk.headers)).json()["data"]
    couple = await make_actor(runtime, "couple")
    booked = await client.post("/api/v1/appointments", headers=couple.headers, json={
        "slot_id": slots[1]["id"], "service": "marriage_registration", "parties": couple_parties()})
    other = await make_actor(runtime, "couple")
    conn = await asyncpg.connect(runtime.settings.database_url.replace("+asyncpg", ""))
    try:
        async with conn.transaction():  # someone holds the day's first slot and does not let go
            await conn.execute("SELECT 1 FROM slot WHERE id = $1 FOR UPDATE", slots[0]["id"])
            answers = [
                # a closure of the day (the write of many rows, through the locking helper)
                await client.post(f"/api/v1/offices/{office.id}/closures", json={"date": "2026-09-16"},
                                  headers={**office.clerk.headers, "Accept-Language": "en"}),
                # a booking of that slot (the single statement, on the hot path's own pool)
                await client.post("/api/v1/appointments", headers=other.headers, json={
                    "slot_id": slots[0]["id"], "service": "marriage_registration",
                    "parties": couple_parties()}),
                # a clerk's change of that slot
                await client.patch(f"/api/v1/slots/{slots[0]['id']}", json={"capacity": 9},
                                   headers=office.clerk.headers),
            ]
            for answer in answers:
                assert answer.status_code == 503, answer.text
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert answer.headers["retry-after"] == "1"
                assert answer.json()["code"] == "busy"
            assert answers[0].json()["title"] == ("Someone else is changing this right now; "
                                                  "try again in a moment.")
    finally:
        await conn.close()
    async with runtime.db.raw() as db:
        assert await db.fetchval("SELECT count(*) FROM office_day") == 0
        assert await db.fetch("SELECT status, booked, capacity FROM slot WHERE id = ANY($1) ORDER BY id",
                              [s["id"] for s in slots]) == [("open", 0, 5), ("open", 1, 5)]
    still = await client.get(f"/api/v1/appointments/{booked.json()['id']}", headers=couple.headers)
    assert still.json()["status"] == "confirmed"
    # with the lock gone, the same requests go through
    closed = await client.post(f"/api/v1/offices/{office.id}/closures", json={"date": "2026-09-16"},
                               headers=office.clerk.headers)
    assert closed.status_code == 201 and closed.json()["cancelled_appointments"] == 1
