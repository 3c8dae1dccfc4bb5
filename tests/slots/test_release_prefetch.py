"""Before a release moment, each API process reads the fixed facts of the slots that moment
releases: the moment's first bookings validate without a read each."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from booking.slots.release import Release, prefetch_once, refresh_before
from tests.appointments.test_appointments import SH
from tests.factories import couple_parties, create_office, make_actor, open_office
from tests.helpers import record_calls

pytestmark = pytest.mark.asyncio

RELEASED = date(2026, 9, 28)  # a Monday: released on 2026-09-13 at 08:30 (15 days ahead, the default rules)


async def _prefetched_before_the_moment(client, runtime, admin, clock) -> None:
    office = await open_office(client, runtime, admin)
    await create_office(client, admin, code="NO-SLOTS")  # no schedule: nothing to read, asked again
    slots = (await client.get(f"/api/v1/offices/{office.id}/slots?from={RELEASED}&to={RELEASED}",
                              headers=office.clerk.headers)).json()["data"]
    assert len(slots) == 2
    loads = record_calls(runtime.slot_facts, "_load")

    done: set[tuple[int, date]] = set()
    clock.set(datetime(2026, 9, 13, 8, 27, tzinfo=SH))  # three minutes before: outside the 90 s
    assert await prefetch_once(runtime, done) == 0 and done == set()
    clock.set(datetime(2026, 9, 13, 8, 29, tzinfo=SH))
    assert await prefetch_once(runtime, done) == 2
    assert done == {(office.id, RELEASED)}  # the office without slots is not marked done
    assert await prefetch_once(runtime, done) == 0  # read once

    clock.set(datetime(2026, 9, 13, 8, 30, 1, tzinfo=SH))
    couple = await make_actor(runtime, "couple")
    booked = await client.post("/api/v1/appointments", headers=couple.headers, json={
        "slot_id": slots[0]["id"], "service": "marriage_registration", "parties": couple_parties()})
    assert booked.status_code == 201, booked.text
    assert loads == []  # the booking found the slot's facts cached


async def test_a_release_moments_slots_are_read_before_it(client, runtime, admin, clock):
    await _prefetched_before_the_moment(client, runtime, admin, clock)


@pytest.mark.sqlite
async def test_the_same_on_the_embedded_default(sqlite_client, sqlite_runtime, clock):
    admin = await make_actor(sqlite_runtime, "admin")
    await _prefetched_before_the_moment(sqlite_client, sqlite_runtime, admin, clock)


async def test_the_office_and_the_periods_are_read_again_just_before_the_moment(client, runtime, admin, clock):
    office = await open_office(client, runtime, admin)
    refreshes: dict = {}
    clock.set(datetime(2026, 9, 13, 8, 29, tzinfo=SH))
    await prefetch_once(runtime, set(), refreshes)
    try:
        # one refresh waiting for its moment per office releasing soon
        assert list(refreshes) == [(office.id, RELEASED)]
        assert not refreshes[(office.id, RELEASED)].done()
    finally:
        for task in refreshes.values():
            task.cancel()

    office_reads = record_calls(runtime.offices, "_load")
    period_reads = record_calls(runtime.policy, "_load")
    clock.set(datetime(2026, 9, 13, 8, 29, 59, tzinfo=SH))  # within the last 2 s: read now
    await refresh_before(runtime, Release(office.id, RELEASED, datetime(2026, 9, 13, 8, 30, tzinfo=SH)))
    assert office_reads == [(office.id,)] and period_reads == [()]
