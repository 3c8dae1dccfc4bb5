"""A closure of a day racing 200 bookings of that day: real concurrent HTTP clients against
a uvicorn server on a real socket, on PostgreSQL, for both implementations of the booking
write. Afterwards no appointment stands on a closed slot, every cancelled couple was told
(an outbox CANCEL notice), and every slot's count equals its active appointments."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from tests.factories import couple_parties, create_office, make_actor, make_couples, weekday_schedule
from tests.appointments.test_booking_concurrency import BOTH_STORES, http, server, store_kind  # noqa: F401 (fixtures)

pytestmark = pytest.mark.asyncio
DAY = "2026-09-16"


@BOTH_STORES
async def test_a_closure_racing_200_bookings_leaves_nothing_on_the_closed_day(http, runtime):  # noqa: F811
    admin = await make_actor(runtime, "admin")
    office = await create_office(http, admin)
    clerk = await make_actor(runtime, "clerk", office["id"])
    await http.put(f"/api/v1/offices/{office['id']}/schedule", json=weekday_schedule(capacity=100),
                   headers=clerk.headers)
    await http.post(f"/api/v1/offices/{office['id']}/slots/generate",
                    json={"from": "2026-09-14", "to": "2026-09-18"}, headers=clerk.headers)
    day_slots = [s["id"] for s in (await http.get(f"/api/v1/offices/{office['id']}/slots?from={DAY}&to={DAY}",
                                                  headers=clerk.headers)).json()["data"]]
    couples = await make_couples(runtime, 200)
    answered = 0
    some_answered = asyncio.Event()

    async def attempt(i: int) -> httpx.Response:
        nonlocal answered
        response = await http.post("/api/v1/appointments", headers=couples[i].headers, json={
            "slot_id": day_slots[i % 2], "service": "marriage_registration", "parties": couple_parties()})
        answered += 1
        if answered == 40:
            some_answered.set()
        return response

    async def close_the_day() -> httpx.Response:
        await some_answered.wait()  # the closure lands while bookings are still coming in
        return await http.post(f"/api/v1/offices/{office['id']}/closures", json={"date": DAY},
                               headers=clerk.headers)

    *bookings, closure = await asyncio.gather(*(attempt(i) for i in range(200)), close_the_day())
    assert closure.status_code == 201, closure.text
    statuses = Counter(r.status_code for r in bookings)
    # never a 500; a 503 (with Retry-After) only when the machine is so loaded that a request
    # waited longer than the pool's timeout for a connection: an answer, not a failure
    assert set(statuses) <= {201, 409, 503}, statuses
    assert all(r.headers.get("Retry-After") for r in bookings if r.status_code == 503)
    refused = {r.json()["code"] for r in bookings if r.status_code == 409}
    assert refused <= {"slot-not-bookable", "slot-full"}, refused
    assert statuses[201] >= 40 and statuses[409] > 0, statuses  # the race really happened

    async with runtime.db.raw() as conn:
        standing = await conn.fetchval(
            "SELECT count(*) FROM appointment a JOIN slot s ON s.id = a.slot_id WHERE s.status = 'closed' "
            "AND a.status IN ('pending_review', 'confirmed', 'checked_in')")
        cancelled = [r["id"] for r in await conn.fetch(
            "SELECT id FROM appointment WHERE slot_id = ANY($1) AND status = 'cancelled'", day_slots)]
        told = await conn.fetchval(
            "SELECT count(DISTINCT subject_id) FROM notification WHERE kind = 'appointment.cancelled' "
            "AND channel = 'email' AND state = 'pending' AND payload->>'by' = 'office' "
            "AND subject_id = ANY($1)",
            cancelled)
        miscounted = await conn.fetch(
            "SELECT s.id, s.booked, count(a.id) AS active FROM slot s "
            "LEFT JOIN appointment a ON a.slot_id = s.id "
            "AND a.status IN ('pending_review', 'confirmed', 'checked_in') GROUP BY s.id "
            "HAVING s.booked <> count(a.id)")
        day = await conn.fetch("SELECT status, closed_reason, booked FROM slot WHERE id = ANY($1)", day_slots)
    assert standing == 0
    assert len(cancelled) == statuses[201] == closure.json()["cancelled_appointments"]
    assert told == len(cancelled)  # each couple gets the CANCEL
    assert miscounted == []
    assert {tuple(r) for r in day} == {("closed", "closure", 0)}
