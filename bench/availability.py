"""The availability read at 08:30: thousands of couples refreshing one office's slots.

Run by hand against PostgreSQL (nothing here is a test):

    .venv/bin/python bench/availability.py [--requests 20000] [--connections 64] [--slots 300]

Seeds an office with ``--slots`` released slots, then measures in one run:
  1. the plain listing query through asyncpg (the same SELECT the endpoint runs), 32
     connections: listings/s — the baseline;
  2. the same listing as SQLModel objects through the ORM: listings/s — what to beat;
  3. ``GET /api/v1/offices/{id}/availability`` through the real server (``booking serve``)
     over ``--connections`` keep-alive connections, with the default 1-second cache and
     with the cache off: requests/s, latency percentiles, and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from common import bench_database, bench_secrets, client_pool, latency_line, running_server

from booking.slots.availability import PG_AVAILABILITY

SH = ZoneInfo("Asia/Shanghai")
# the very statement the endpoint runs, so the baseline cannot drift from it
LISTING = PG_AVAILABILITY


async def _seed(dsn: str, slots: int) -> tuple[int, date, date]:
    conn = await asyncpg.connect(dsn)
    try:
        office_id = await conn.fetchval(
            """INSERT INTO office (code, name_zh, name_en, province_code, city, address_zh, address_en, timezone,
                                   services, rules, is_active, created_at, updated_at)
               VALUES ('AVAIL', '压测登记处', 'Bench Registry', '44', '广州', '广州市', 'Guangzhou', 'Asia/Shanghai',
                       '["marriage_registration"]', '{"booking_window_days": 15}', true, now(), now())
               RETURNING id""")
        today = datetime.now(SH).date()
        first, days = today + timedelta(days=2), 12
        per_day = -(-slots // days)
        rows = []
        for d in range(days):
            day = first + timedelta(days=d)
            for i in range(per_day):
                if len(rows) == slots:
                    break
                start = datetime.combine(day, datetime.min.time(), tzinfo=SH) + timedelta(hours=8, minutes=20 * i)
                rows.append((office_id, day, start.astimezone(UTC), (start + timedelta(minutes=20)).astimezone(UTC)))
        await conn.executemany(
            "INSERT INTO slot (office_id, service, local_date, starts_at, ends_at, capacity, booked, status, "
            "created_at) VALUES ($1, 'marriage_registration', $2, $3, $4, 10, 3, 'open', now())", rows)
        await conn.execute("ANALYZE slot")
        return office_id, first, first + timedelta(days=days)
    finally:
        await conn.close()


async def _raw_listing(dsn: str, office_id: int, first: date, last: date, total: int, connections: int = 32
                       ) -> tuple[float, int]:
    pool = await asyncpg.create_pool(dsn, min_size=connections, max_size=connections)
    counter = iter(range(total))
    size = 0

    async def worker() -> None:
        nonlocal size
        for _ in counter:
            async with pool.acquire() as c:
                rows = await c.fetch(LISTING, office_id, "marriage_registration", first, last, datetime.now(UTC))
                size = len(rows)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return total / elapsed, size


async def _orm_listing(url: str, office_id: int, first: date, last: date, total: int, connections: int = 32) -> float:
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

    from booking.db.models import Slot

    engine = create_async_engine(url, pool_size=connections, max_overflow=0)
    sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
    counter = iter(range(total))

    async def worker() -> None:
        for _ in counter:
            async with sessions() as session:
                result = await session.execute(
                    select(Slot).where(Slot.office_id == office_id, Slot.service == "marriage_registration",
                                       Slot.local_date >= first, Slot.local_date <= last,
                                       Slot.starts_at > datetime.now(UTC), Slot.status == "open")
                    .order_by(Slot.starts_at, Slot.id))
                list(result.scalars().all())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return total / elapsed


async def _endpoint(address: str, office_id: int, total: int, connections: int) -> tuple[float, list[float], int]:
    path = f"/api/v1/offices/{office_id}/availability?service=marriage_registration"
    latencies: list[float] = []
    counter = iter(range(total))
    size = 0
    async with client_pool(address, connections) as pool:
        clients = [pool.get_nowait() for _ in range(connections)]
        await asyncio.gather(*(c.request("GET", "/health") for c in clients))

        async def worker(client) -> None:  # type: ignore[no-untyped-def]
            nonlocal size
            for _ in counter:
                t0 = time.perf_counter()
                status, body = await client.request("GET", path)
                latencies.append(time.perf_counter() - t0)
                assert status == 200, body
                size = len(json.loads(body)["data"])

        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in clients))
        elapsed = time.perf_counter() - started
        for c in clients:
            pool.put_nowait(c)
    return total / elapsed, latencies, size


async def main(args: argparse.Namespace) -> None:
    async with bench_database() as (dsn, url):
        office_id, first, last = await _seed(dsn, args.slots)
        raw, rows = await _raw_listing(dsn, office_id, first, last, args.raw_requests)
        orm = await _orm_listing(url, office_id, first, last, max(500, args.raw_requests // 10))
        print(f"{rows} slots per listing")
        print(f"plain asyncpg listing (32 connections): {raw:.0f} listings/s")
        print(f"SQLModel objects (32 connections):      {orm:.0f} listings/s ({orm / raw:.2f}x)")
        keys = bench_secrets()
        for cache in ("1.0", "0"):
            env = {**keys, "BOOKING_DATABASE_URL": url, "BOOKING_AVAILABILITY_CACHE_SECONDS": cache,
                   "BOOKING_DATA_DIR": "/tmp/booking-bench"}
            with running_server(env, workers=args.workers) as address:
                rate, latencies, size = await _endpoint(address, office_id, args.requests, args.connections)
            label = "1 s cache" if cache != "0" else "no cache "
            print(f"GET availability, {label}, {args.connections} connections: {rate:.0f} requests/s "
                  f"({rate / raw:.2f}x the plain query); {size} slots; {latency_line(latencies)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--raw-requests", type=int, default=10000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--slots", type=int, default=300)
    parser.add_argument("--workers", type=int, default=1)
    asyncio.run(main(parser.parse_args()))
