"""Ballots under real concurrency on PostgreSQL: two workers draw the same ballots at the
same moment (separate runtimes, so separate connection pools and sessions), and the same
people book and enter at once through a uvicorn server on a real socket."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import asyncpg
import pytest

from booking.background.wiring import register_areas
from booking.background.worker import build_worker
from booking.ballots.draw import draw_due
from booking.clock import FixedClock
from booking.runtime import Runtime
from tests.ballot_helpers import (
    AFTER_DRAW,
    BEFORE_WINDOW,
    IN_WINDOW,
    couple_of,
    enter_all,
    peak_office,
    set_up_ballot,
)
from tests.conftest import QUEUE_NAME, REDIS_URL
from tests.factories import make_couples
from tests.appointments.test_booking_concurrency import http, server, store_kind  # noqa: F401  (the same live server)
from tests.notifications.test_notifications import stop_worker

pytestmark = pytest.mark.asyncio


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(BEFORE_WINDOW)


@pytest.mark.parametrize("store_kind", ["one_statement", "transaction"])
async def test_the_same_people_book_and_enter_at_once_one_of_the_two_holds(http, runtime, admin, clock):
    office = await peak_office(http, runtime, admin)
    ballot = await set_up_ballot(http, office)
    clock.set(IN_WINDOW)
    slot_ids = [s["slot_id"] for s in (await http.get(
        f"/api/v1/offices/{office.id}/availability?service=marriage_registration&from=2027-05-03&to=2027-05-07"
    )).json()["data"]]
    couples = await make_couples(runtime, 24)
    people = [couple_of(500 + i) for i in range(12)]

    async def book(i: int) -> int:
        response = await http.post("/api/v1/appointments", headers=couples[i].headers, json={
            "slot_id": slot_ids[i % len(slot_ids)], "service": "marriage_registration", "parties": people[i]})
        assert response.status_code in (201, 409), response.text
        return response.status_code

    async def enter(i: int) -> int:
        response = await http.post(f"/api/v1/ballots/{ballot['id']}/entries", headers=couples[12 + i].headers,
                                   json={"parties": people[i]})
        assert response.status_code in (201, 409), response.text
        return response.status_code

    results = await asyncio.gather(*(f(i) for i in range(12) for f in (book, enter)))
    pairs = [results[2 * i: 2 * i + 2] for i in range(12)]
    assert all(sorted(p) == [201, 409] for p in pairs), pairs
    async with runtime.db.raw() as conn:
        doubles = await conn.fetchval("""
            SELECT count(*) FROM appointment_party a JOIN ballot_entry_party e
              ON e.id_hash = a.id_hash AND e.service = a.service AND e.active WHERE a.active""")
    assert doubles == 0


async def _waiting_on_locks(admin_url: str, count: int, timeout: float = 30) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            waiting = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE 'UPDATE ballot SET state%'")
            if waiting >= count:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the two draws never waited on the ballot together")
    finally:
        await conn.close()


async def test_two_workers_drawing_at_the_same_moment_draw_once(client, runtime, admin, clock):
    """Both workers find the ballots due and try to draw them while a third session holds
    the ballot rows; once released, each ballot is drawn by exactly one of them."""
    office = await peak_office(client, runtime, admin, capacity=3)
    # the office's schedule only offers marriage registration: give reissue two slots that day too
    async with runtime.db.raw() as conn:
        await conn.execute(
            "INSERT INTO slot (office_id, service, local_date, starts_at, ends_at, capacity, booked, status, "
            "created_at) SELECT office_id, 'certificate_reissue', local_date, starts_at, ends_at, 2, 0, 'open', "
            "now() FROM slot WHERE office_id = $1 AND local_date = '2027-05-20'", office.id)
    ballots = [await set_up_ballot(client, office),
               await set_up_ballot(client, office, service="certificate_reissue")]
    clock.set(IN_WINDOW)
    await enter_all(client, ballots[0]["id"], await make_couples(runtime, 10))
    await enter_all(client, ballots[1]["id"], await make_couples(runtime, 10), first=100)
    clock.set(AFTER_DRAW)

    workers = [Runtime.build(runtime.settings, clock=clock) for _ in range(2)]
    register_areas()  # as ``booking worker`` does at start-up
    holder = await asyncpg.connect(runtime.settings.database_url.replace("+asyncpg", ""))
    try:
        tx = holder.transaction()
        await tx.start()
        await holder.execute("SELECT 1 FROM ballot FOR UPDATE")
        draws = [asyncio.create_task(draw_due(w)) for w in workers]
        await _waiting_on_locks(runtime.settings.database_url.replace("+asyncpg", ""), 2)
        await tx.rollback()
        drawn = await asyncio.gather(*draws)
    finally:
        await holder.close()
        for w in workers:
            await w.close()

    assert sorted(drawn) in ([0, 2], [1, 1])  # two draws in all, each by one worker
    assert await draw_due(runtime) == 0
    async with runtime.db.raw() as conn:
        audits = await conn.fetchval("SELECT count(*) FROM audit_entry WHERE action = 'ballot.draw'")
        appointments = await conn.fetchval("SELECT count(*) FROM appointment WHERE status = 'confirmed'")
        states = dict(await conn.fetch("SELECT state, count(*) FROM ballot_entry GROUP BY state"))
        seats = await conn.fetch("SELECT service, sum(booked) AS booked, sum(capacity) AS capacity FROM slot "
                                 "WHERE local_date = '2027-05-20' GROUP BY service ORDER BY service")
        ranks = await conn.fetchval("SELECT count(DISTINCT (ballot_id, rank)) FROM ballot_entry")
    assert audits == 2
    assert [(s["service"], s["booked"], s["capacity"]) for s in seats] == [
        ("certificate_reissue", 4, 4), ("marriage_registration", 6, 6)]
    assert appointments == 10 and states == {"won": 10, "waitlisted": 10} and ranks == 20
    for ballot in ballots:
        body = (await client.get(f"/api/v1/ballots/{ballot['id']}")).json()
        assert body["state"] == "drawn" and uuid.UUID(body["winners"][0])



async def test_two_real_workers_started_after_the_moment_draw_once(client, runtime, admin, clock):
    """Two arq workers (``booking worker``'s settings, each with a runtime of its own) start
    after the draw's moment; their periodic jobs run at start-up, and the ballot is drawn
    once, without anyone asking."""
    office = await peak_office(client, runtime, admin, capacity=2)
    ballot = await set_up_ballot(client, office)
    clock.set(IN_WINDOW)
    await enter_all(client, ballot["id"], await make_couples(runtime, 6))
    clock.set(AFTER_DRAW)
    settings = runtime.settings.model_copy(update={"redis_url": REDIS_URL, "queue_name": f"{QUEUE_NAME}:ballot"})
    runtimes = [Runtime.build(settings, clock=clock) for _ in range(2)]
    workers = [build_worker(settings, runtime=rt, handle_signals=False, poll_delay=0.01) for rt in runtimes]
    tasks = [asyncio.create_task(w.async_run()) for w in workers]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (await client.get(f"/api/v1/ballots/{ballot['id']}")).json()["state"] == "drawn":
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("no worker drew the ballot")
    finally:
        for worker, task in zip(workers, tasks, strict=True):
            await stop_worker(worker, task)
        for rt in runtimes:
            await rt.close()
    async with runtime.db.raw() as conn:
        audits = await conn.fetch("SELECT actor_id, detail FROM audit_entry WHERE action = 'ballot.draw'")
        appointments = await conn.fetchval("SELECT count(*) FROM appointment WHERE status = 'confirmed'")
    assert len(audits) == 1 and json.loads(audits[0]["detail"])["by_hand"] is False
    assert appointments == 4


async def test_a_clerk_and_a_worker_drawing_at_once_draw_once(client, runtime, admin, clock):
    office = await peak_office(client, runtime, admin, capacity=2)
    ballot = await set_up_ballot(client, office)
    clock.set(IN_WINDOW)
    await enter_all(client, ballot["id"], await make_couples(runtime, 6))
    clock.set(AFTER_DRAW)
    worker = Runtime.build(runtime.settings, clock=clock)
    register_areas()
    dsn = runtime.settings.database_url.replace("+asyncpg", "")
    holder = await asyncpg.connect(dsn)
    try:
        tx = holder.transaction()
        await tx.start()
        await holder.execute("SELECT 1 FROM ballot FOR UPDATE")
        by_hand = asyncio.create_task(client.post(f"/api/v1/ballots/{ballot['id']}/draw",
                                                  headers=office.clerk.headers))
        by_worker = asyncio.create_task(draw_due(worker))
        await _waiting_on_locks(dsn, 2)
        await tx.rollback()
        response, drawn = await asyncio.gather(by_hand, by_worker)
    finally:
        await holder.close()
        await worker.close()
    async with runtime.db.raw() as conn:
        audits = [r["outcome"] for r in await conn.fetch(
            "SELECT outcome FROM audit_entry WHERE action = 'ballot.draw' ORDER BY id")]
        appointments = await conn.fetchval("SELECT count(*) FROM appointment WHERE status = 'confirmed'")
    assert appointments == 4
    if drawn == 1:  # the worker won: the clerk is told, and the refusal audited
        assert response.status_code == 409 and response.json()["code"] == "ballot-already-drawn"
        assert sorted(audits) == ["ok", "refused:ballot-already-drawn"]
    else:
        assert response.status_code == 200 and audits == ["ok"]
