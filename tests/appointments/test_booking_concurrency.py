"""The invariants under real concurrency: many HTTP clients at once against a uvicorn
server on a real socket, on PostgreSQL, for both implementations of the booking write
(the single statement and the SQLAlchemy transaction)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from booking.app import create_app
from booking.appointments.store import PgBookingStore, SqlBookingStore
from booking.runtime import Runtime
from tests.factories import (
    couple_parties,
    make_actor,
    make_couples,
    open_office,
)
from tests.helpers import live_server

pytestmark = pytest.mark.asyncio


@pytest.fixture
def store_kind() -> str:
    return "one_statement"


# The booking write has two implementations; each invariant is checked on both.
BOTH_STORES = pytest.mark.parametrize("store_kind", ["one_statement", "transaction"])


@pytest.fixture
def server(runtime: Runtime, store_kind: str) -> Iterator[str]:
    # The server gets its own runtime: its engine lives on the server thread's event loop.
    server_rt = Runtime.build(runtime.settings, clock=runtime.clock)
    server_rt.run_in_process_jobs = False
    server_rt.booking_store = (PgBookingStore if store_kind == "one_statement"
                                         else SqlBookingStore)(server_rt.db)
    with live_server(create_app(runtime=server_rt, close_runtime=True)) as url:
        yield url


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=server, limits=limits, timeout=60) as client:
        yield client


async def _office(http: httpx.AsyncClient, runtime: Runtime, capacity: int = 5):
    office = await open_office(http, runtime, await make_actor(runtime, "admin"), capacity=capacity,
                               dates=("2026-09-14", "2026-09-18"))
    clerk = office.clerk
    slots = (await http.get(f"/api/v1/offices/{office.id}/slots?from=2026-09-14&to=2026-09-18",
                            headers=clerk.headers)).json()["data"]
    return office.id, clerk, [s["id"] for s in slots]


async def _counts(runtime: Runtime) -> tuple[int, int, list[tuple[int, int]]]:
    async with runtime.db.raw() as conn:
        appointments = await conn.fetchval("SELECT count(*) FROM appointment WHERE status <> 'cancelled'")
        parties = await conn.fetchval("SELECT count(*) FROM appointment_party WHERE active")
        slots = [tuple(r) for r in await conn.fetch("SELECT booked, capacity FROM slot ORDER BY id")]
    return appointments, parties, slots


@BOTH_STORES
async def test_200_couples_race_for_5_seats(http, runtime):
    _office_id, _clerk, slots = await _office(http, runtime, capacity=5)
    couples = await make_couples(runtime, 200)

    async def attempt(actor):
        return await http.post("/api/v1/appointments", headers=actor.headers, json={
            "slot_id": slots[0], "service": "marriage_registration", "parties": couple_parties()})

    responses = await asyncio.gather(*(attempt(c) for c in couples))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 5, 409: 195}, statuses
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"slot-full"}
    appointments, parties, slot_rows = await _counts(runtime)
    assert appointments == 5 and parties == 10
    assert slot_rows[0] == (5, 5)
    assert all(booked <= capacity for booked, capacity in slot_rows)


@BOTH_STORES
async def test_same_couple_on_two_slots_at_once_books_once(http, runtime):
    _office_id, _clerk, slots = await _office(http, runtime)
    parties = couple_parties()
    accounts = await make_couples(runtime, 10)

    async def attempt(i, actor):
        return await http.post("/api/v1/appointments", headers=actor.headers, json={
            "slot_id": slots[i % 4], "service": "marriage_registration", "parties": parties})

    responses = await asyncio.gather(*(attempt(i, a) for i, a in enumerate(accounts)))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 9}, statuses
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"party-already-booked"}
    appointments, parties_active, slot_rows = await _counts(runtime)
    assert appointments == 1 and parties_active == 2 and sum(b for b, _c in slot_rows) == 1


@BOTH_STORES
async def test_twenty_retries_with_one_key_book_once(http, runtime):
    _office_id, _clerk, slots = await _office(http, runtime)
    couple = (await make_couples(runtime, 1))[0]
    request = {"slot_id": slots[0], "service": "marriage_registration", "parties": couple_parties()}
    headers = {**couple.headers, "Idempotency-Key": "retry-7f3a"}
    responses = await asyncio.gather(*(http.post("/api/v1/appointments", json=request, headers=headers)
                                       for _ in range(20)))
    assert [r.status_code for r in responses] == [201] * 20
    assert len({r.text for r in responses}) == 1  # identical answers
    appointments, parties, slot_rows = await _counts(runtime)
    assert appointments == 1 and parties == 2 and slot_rows[0][0] == 1


@BOTH_STORES
async def test_one_key_two_bodies_at_once(http, runtime):
    _office_id, _clerk, slots = await _office(http, runtime)
    couple = (await make_couples(runtime, 1))[0]
    headers = {**couple.headers, "Idempotency-Key": "same-key"}
    bodies = [{"slot_id": slots[0], "service": "marriage_registration", "parties": couple_parties()}
              for _ in range(2)]
    responses = await asyncio.gather(*(http.post("/api/v1/appointments", json=b, headers=headers) for b in bodies))
    assert sorted(r.status_code for r in responses) == [201, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["code"] == "idempotency-key-reused"
    assert (await _counts(runtime))[0] == 1


async def test_concurrent_reschedules_into_the_last_seat(http, runtime):
    _office_id, clerk, slots = await _office(http, runtime, capacity=5)
    couples = await make_couples(runtime, 10)
    booked = []
    for i, couple in enumerate(couples):
        response = await http.post("/api/v1/appointments", headers=couple.headers, json={
            "slot_id": slots[1 + i % 4], "service": "marriage_registration", "parties": couple_parties()})
        assert response.status_code == 201, response.text
        booked.append(response.json())
    target = slots[0]
    await http.patch(f"/api/v1/slots/{target}", json={"capacity": 1}, headers=clerk.headers)
    before = (await _counts(runtime))[2]

    responses = await asyncio.gather(*(
        http.post(f"/api/v1/appointments/{b['id']}/reschedule", json={"slot_id": target}, headers=c.headers)
        for b, c in zip(booked, couples, strict=True)))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 409: 9}, statuses
    winner = next(i for i, r in enumerate(responses) if r.status_code == 200)
    after = (await _counts(runtime))[2]
    assert after[0] == (1, 1)
    moved_from = booked[winner]["slot_id"]
    for index, (b_after, b_before) in enumerate(zip(after, before, strict=True)):
        expected = b_before[0] - (1 if slots[index] == moved_from else 0) + (1 if slots[index] == target else 0)
        assert b_after[0] == expected
    for i, (b, c) in enumerate(zip(booked, couples, strict=True)):  # the losers keep their old slot
        current = (await http.get(f"/api/v1/appointments/{b['id']}", headers=c.headers)).json()
        assert current["slot_id"] == (target if i == winner else b["slot_id"])


@BOTH_STORES
async def test_held_seats_and_bookings_race_for_the_same_seats(http, runtime):
    """Cross-province applications hold their seat through the same guarded write: 40
    couples, half applying for pre-review and half booking directly, for 4 seats."""
    office_id, clerk, slots = await _office(http, runtime, capacity=4)
    couples = await make_couples(runtime, 40)

    async def attempt(i, actor):
        if i % 2:
            return await http.post("/api/v1/cross-province-applications", headers=actor.headers, json={
                "slot_id": slots[0], "service": "marriage_registration",
                "parties": couple_parties(region="510104", hukou="51")})
        return await http.post("/api/v1/appointments", headers=actor.headers, json={
            "slot_id": slots[0], "service": "marriage_registration", "parties": couple_parties()})

    responses = await asyncio.gather(*(attempt(i, c) for i, c in enumerate(couples)))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 4, 409: 36}, statuses
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"slot-full"}
    held = sum(1 for r in responses if r.status_code == 201 and "appointment" in r.json())
    appointments, parties, slot_rows = await _counts(runtime)
    assert appointments == 4 and parties == 8 and slot_rows[0] == (4, 4)
    async with runtime.db.raw() as conn:
        pending = await conn.fetchval("SELECT count(*) FROM appointment WHERE status = 'pending_review'")
        applications = await conn.fetchval(
            "SELECT count(*) FROM cross_province_application a JOIN appointment p ON p.id = a.appointment_id "
            "WHERE a.status = 'submitted' AND p.status = 'pending_review'")
    assert pending == applications == held  # every held seat has its application, and only those
    queue = await http.get(f"/api/v1/offices/{office_id}/cross-province-applications", headers=clerk.headers)
    assert queue.json()["total"] == held
