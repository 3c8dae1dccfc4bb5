"""Faults, with real servers of the test's own (never the shared ones): PostgreSQL stopped
and started again under a booking load, Redis stopped under bookings."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from booking.app import create_app
from booking.clock import FixedClock
from booking.migrations import upgrade_async
from booking.runtime import Runtime
from tests.conftest import DEFAULT_NOW, make_settings
from tests.factories import couple_parties, make_actor, make_couples, weekday_schedule
from tests.helpers import live_server
from tests.servers import OwnPostgres, OwnRedis

pytestmark = pytest.mark.asyncio

OFFICE = {"code": "FAULT", "name_zh": "故障测试登记处", "name_en": "Fault Test Registry", "province_code": "44",
          "division_code": "440106", "city": "广州", "address_zh": "测试路1号",
          "services": ["marriage_registration"]}


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    server = OwnPostgres()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


async def _prepared(server: OwnPostgres, tmp_path: Path, **overrides: Any) -> tuple[Runtime, Any]:
    server.psql("CREATE DATABASE booking")
    url = server.url("booking", driver="postgresql+asyncpg")
    await upgrade_async(url)
    settings = make_settings(url, tmp_path, **overrides)
    return Runtime.build(settings, clock=FixedClock(DEFAULT_NOW)), settings


async def _office(base: str, runtime: Runtime, capacity: int) -> int:
    admin = await make_actor(runtime, "admin")
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        office = (await client.post("/api/v1/offices", json=OFFICE, headers=admin.headers)).json()
        clerk = await make_actor(runtime, "clerk", office["id"])
        await client.put(f"/api/v1/offices/{office['id']}/schedule", headers=clerk.headers,
                         json=weekday_schedule(capacity=capacity, hours=(("09:00", "10:00"),)))
        await client.post(f"/api/v1/offices/{office['id']}/slots/generate", headers=clerk.headers,
                          json={"from": "2026-09-15", "to": "2026-09-15"})
        slots = await client.get(f"/api/v1/offices/{office['id']}/slots?from=2026-09-15&to=2026-09-15",
                                 headers=clerk.headers)
        return slots.json()["data"][0]["id"]


async def _until(condition: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the load did not start"
        await asyncio.sleep(0.05)


def _parties(n: int) -> list[dict[str, Any]]:
    return couple_parties(groom_birth=date(1980, 1, 1) + timedelta(days=n),
                          bride_birth=date(1981, 1, 1) + timedelta(days=n))


async def test_postgres_restarted_under_load(own_postgres: OwnPostgres, tmp_path: Path):
    setup, settings = await _prepared(own_postgres, tmp_path)
    server_rt = Runtime.build(settings, clock=FixedClock(DEFAULT_NOW))
    server_rt.run_in_process_jobs = False
    couples = await make_couples(setup, 600)
    answers: list[tuple[float, int, dict[str, str], Any]] = []
    with live_server(create_app(runtime=server_rt, close_runtime=True)) as base:
        slot_id = await _office(base, setup, capacity=1000)
        await setup.close()  # the test's own connections go: only the API's stay
        queue = iter(enumerate(couples))
        stop_at = [float("inf")]

        async def booker() -> None:
            """A couple's client: on 503 it waits a little and tries again, with the same body and
            Idempotency-Key (a booking whose answer was lost is then answered, not repeated)."""
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                for n, couple in queue:
                    while time.monotonic() < stop_at[0]:
                        r = await client.post(
                            "/api/v1/appointments", headers={**couple.headers, "Idempotency-Key": f"k{n}"},
                            json={"slot_id": slot_id, "service": "marriage_registration", "parties": _parties(n)})
                        answers.append((time.monotonic(), r.status_code, dict(r.headers), r.json()))
                        if r.status_code != 503:
                            break
                        await asyncio.sleep(0.2)
                    else:
                        return

        load = [asyncio.create_task(booker()) for _ in range(6)]
        # stop PostgreSQL once the load is booking (a count, not a time: a fast machine would
        # otherwise book every couple before the outage, a slow one none)
        await _until(lambda: sum(s == 201 for _t, s, _h, _b in answers) >= 30, within=60)
        stopped_at = time.monotonic()
        await asyncio.to_thread(own_postgres.stop, "fast")
        await asyncio.sleep(2.5)  # down: the load goes on
        await asyncio.to_thread(own_postgres.start)
        started_at = time.monotonic()
        stop_at[0] = started_at + 6
        await asyncio.gather(*load)

    statuses = Counter(status for _t, status, _h, _b in answers)
    assert set(statuses) <= {201, 503}, statuses  # never a 500, never anything else
    unavailable = [(h, b) for _t, s, h, b in answers if s == 503]
    assert unavailable, "the outage was not seen"
    for headers, problem in unavailable:
        assert headers["content-type"].startswith("application/problem+json")
        assert int(headers["retry-after"]) >= 1 and problem["code"] == "service-unavailable"
    assert any(s == 201 and t < stopped_at for t, s, _h, _b in answers)
    # it recovered by itself: bookings succeed again after the restart, without restarting the
    # API; a second after the first one has, the rest do too (a straggler or two from the
    # pool's reconnection aside)
    after_restart = [(t, s) for t, s, _h, _b in answers if t > started_at]
    first_ok = next((t for t, s in after_restart if s == 201), None)
    assert first_ok is not None, Counter(s for _t, s in after_restart)
    assert [s for _t, s in after_restart].count(201) >= 50, Counter(s for _t, s in after_restart)
    settled = [s for t, s in after_restart if t > first_ok + 1]
    assert settled.count(201) >= len(settled) - 2, Counter(settled)
    # no committed booking lost: every 201 is in the database
    booked = {uuid.UUID(b["id"]) for _t, s, _h, b in answers if s == 201}
    conn = await asyncpg.connect(own_postgres.url("booking"))
    try:
        stored = {r["id"] for r in await conn.fetch("SELECT id FROM appointment")}
        seats = await conn.fetchval("SELECT booked FROM slot WHERE id = $1", slot_id)
    finally:
        await conn.close()
    assert booked <= stored and seats == len(stored)


async def test_redis_down_bookings_go_on_and_ready_says_degraded(own_postgres: OwnPostgres, tmp_path: Path):
    redis_server = OwnRedis()
    redis_server.start()
    setup, settings = await _prepared(own_postgres, tmp_path, redis_url=redis_server.url,
                                      rate_limits_enabled=True)
    server_rt = Runtime.build(settings, clock=FixedClock(DEFAULT_NOW))
    couples = await make_couples(setup, 4)
    try:
        with live_server(create_app(runtime=server_rt, close_runtime=True)) as base:
            slot_id = await _office(base, setup, capacity=10)
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                async def book(n: int) -> httpx.Response:
                    return await client.post("/api/v1/appointments", headers=couples[n].headers, json={
                        "slot_id": slot_id, "service": "marriage_registration", "parties": _parties(n)})

                assert (await book(0)).status_code == 201
                ready = (await client.get("/ready")).json()
                assert ready["status"] == "ok" and ready["checks"]["redis"] == "ok"
                redis_server.stop()
                assert (await book(1)).status_code == 201  # rate limits count in-process meanwhile
                ready = await client.get("/ready")
                assert ready.status_code == 200 and ready.json()["status"] == "degraded"
                assert ready.json()["checks"]["database"] == "ok"
                assert ready.json()["checks"]["redis"].startswith("error")
                assert (await book(2)).status_code == 201
                redis_server.start()
                deadline = time.monotonic() + 20
                while (await client.get("/ready")).json()["status"] != "ok":
                    assert time.monotonic() < deadline, "Redis came back but /ready did not see it"
                    await asyncio.sleep(0.2)
                assert (await book(3)).status_code == 201
        conn = await asyncpg.connect(own_postgres.url("booking"))
        try:
            # the outbox rows of every booking are in PostgreSQL, Redis or not
            assert await conn.fetchval("SELECT count(DISTINCT subject_id) FROM notification") == 4
        finally:
            await conn.close()
    finally:
        await setup.close()
        redis_server.stop()
