"""A peak day's ballot: thousands of couples enter during its window, then the draw.

Run by hand against PostgreSQL (nothing here is a test):

    .venv/bin/python bench/ballot.py [--entries 10000] [--connections 64] [--slots 10] [--capacity 50]

1. Seeds an office with a peak day of its own 20 days ahead and ``--slots`` slots of
   ``--capacity`` seats on it, starts the real server (``booking serve``) in its own
   process, and a clerk sets up a ballot through ``POST /api/v1/offices/{id}/ballots``
   whose window opens a few seconds later. At that moment ``--entries`` couples enter
   through ``POST /api/v1/ballots/{id}/entries`` over ``--connections`` keep-alive
   connections. Prints entries/s, outcomes and latency percentiles.
2. The draw, in this process as the worker runs it (``run_draw``): its time for all the
   entries, the winners (must equal the seats), the waitlist and the rows it wrote; then
   the time of ``GET /api/v1/ballots/{id}``, which publishes every entry id.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta

import asyncpg
from common import (
    SH,
    Account,
    bench_database,
    bench_secrets,
    client_pool,
    latency_line,
    make_couple_accounts,
    parties,
    running_server,
    seed_office,
    seed_slots,
)


async def _clerk_token(dsn: str, keys: dict[str, str], office_id: int) -> str:
    from booking.accounts.tokens import build_jwt_auth, issue_token
    from booking.settings import Settings

    clerk = uuid.uuid4()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO user_account (id, email, password_hash, name, locale, role, office_id, is_active, "
            "failed_logins, created_at) VALUES ($1, 'clerk@bench.example', 'x', 'clerk', 'zh_Hans_CN', 'clerk', $2, "
            "true, 0, now())", clerk, office_id)
    finally:
        await conn.close()
    settings = Settings(secret_key=keys["BOOKING_SECRET_KEY"], data_key=keys["BOOKING_DATA_KEY"])
    return issue_token(build_jwt_auth(settings), settings, subject=clerk, role="clerk", office_id=office_id)


async def _enter(address: str, connections: int, ballot_id: str, accounts: list[Account], start_at: float
                 ) -> tuple[list[float], Counter[str], float]:
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    queue: asyncio.Queue[Account] = asyncio.Queue()
    for account in accounts:
        queue.put_nowait(account)
    bodies = {a.id: {"parties": parties()} for a in accounts}
    async with client_pool(address, connections) as pool:
        clients = [pool.get_nowait() for _ in range(connections)]
        await asyncio.gather(*(c.request("GET", "/health") for c in clients))
        await asyncio.sleep(max(0.0, start_at - time.time()))
        started = time.perf_counter()

        async def worker(client) -> None:  # type: ignore[no-untyped-def]
            while not queue.empty():
                account = queue.get_nowait()
                t0 = time.perf_counter()
                status, body = await client.request("POST", f"/api/v1/ballots/{ballot_id}/entries",
                                                    bodies[account.id], {"Authorization": f"Bearer {account.token}"})
                latencies.append(time.perf_counter() - t0)
                outcomes["201 entered" if status == 201 else f"{status} {json.loads(body).get('code')}"] += 1

        await asyncio.gather(*(worker(c) for c in clients))
        elapsed = time.perf_counter() - started
        for c in clients:
            pool.put_nowait(c)
    return latencies, outcomes, elapsed


async def _draw(url: str, keys: dict[str, str], ballot_id: str) -> float:
    from booking.background.wiring import register_areas
    from booking.ballots.draw import run_draw
    from booking.runtime import Runtime
    from booking.settings import Settings

    runtime = Runtime.build(Settings(database_url=url, secret_key=keys["BOOKING_SECRET_KEY"],
                                     data_key=keys["BOOKING_DATA_KEY"], data_dir="/tmp/booking-bench"))
    register_areas()
    try:
        started = time.perf_counter()
        assert await run_draw(runtime, uuid.UUID(ballot_id))
        return time.perf_counter() - started
    finally:
        await runtime.close()


async def main(args: argparse.Namespace) -> None:
    async with bench_database() as (dsn, url):
        keys = bench_secrets()
        now_local = datetime.now(SH)
        office_id = await seed_office(dsn, now_local.replace(hour=8, minute=30, second=0, microsecond=0), 15)
        peak_day = now_local.date() + timedelta(days=20)
        await seed_slots(dsn, office_id, peak_day, args.slots, args.capacity)
        conn = await asyncpg.connect(dsn)
        await conn.execute("INSERT INTO office_peak_day (office_id, day, name_zh, name_en, created_at) "
                           "VALUES ($1, $2, '压测高峰日', 'Bench peak day', now())", office_id, peak_day)
        await conn.close()
        clerk = await _clerk_token(dsn, keys, office_id)
        accounts = await make_couple_accounts(dsn, keys["BOOKING_SECRET_KEY"], args.entries)
        opens = (datetime.now(SH) + timedelta(seconds=8)).replace(microsecond=0)
        closes = opens + timedelta(hours=1)
        env = {**keys, "BOOKING_DATABASE_URL": url, "BOOKING_DB_POOL_SIZE": str(args.pool),
               "BOOKING_DB_MAX_OVERFLOW": "0", "BOOKING_ENV": "development", "BOOKING_DATA_DIR": "/tmp/booking-bench"}
        with running_server(env) as address:
            async with client_pool(address, 1) as pool:
                client = pool.get_nowait()
                status, body = await client.request(
                    "POST", f"/api/v1/offices/{office_id}/ballots",
                    {"date": peak_day.isoformat(), "service": "marriage_registration",
                     "entry_opens_at": opens.isoformat(), "entry_closes_at": closes.isoformat(),
                     "draw_at": closes.isoformat()}, {"Authorization": f"Bearer {clerk}"})
                pool.put_nowait(client)
            assert status == 201, body
            ballot_id = json.loads(body)["id"]
            print(f"ballot for {peak_day} ({args.slots} slots x {args.capacity} seats), window opens "
                  f"{opens.isoformat()}: {args.entries} entries over {args.connections} connections")
            latencies, outcomes, elapsed = await _enter(address, args.connections, ballot_id, accounts,
                                                        opens.timestamp() + 0.05)
            print("\n== entries ==")
            print("outcomes:", ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())))
            print(f"{len(latencies) / elapsed:.0f} entries/s; {latency_line(latencies)}")

            conn = await asyncpg.connect(dsn)
            # the draw's moment, brought forward (the window is an hour long)
            await conn.execute("UPDATE ballot SET entry_closes_at = now() - interval '2 seconds', "
                               "draw_at = now() - interval '1 second' WHERE id = $1", uuid.UUID(ballot_id))
            before = await conn.fetchval("SELECT count(*) FROM notification")
            took = await _draw(url, keys, ballot_id)
            states = dict(await conn.fetch("SELECT state, count(*) FROM ballot_entry GROUP BY state"))
            written = {
                "appointments": await conn.fetchval("SELECT count(*) FROM appointment"),
                "appointment parties": await conn.fetchval("SELECT count(*) FROM appointment_party"),
                "entries updated": sum(states.values()),
                "notifications": await conn.fetchval("SELECT count(*) FROM notification") - before,
            }
            await conn.close()
            print("\n== the draw ==")
            print(f"draw of {sum(states.values())} entries for {args.slots * args.capacity} seats: {took:.2f} s")
            print("entries:", ", ".join(f"{k}: {v}" for k, v in sorted(states.items())))
            print("rows written:", ", ".join(f"{k}: {v}" for k, v in written.items()))
            async with client_pool(address, 1) as pool:
                client = pool.get_nowait()
                t0 = time.perf_counter()
                status, body = await client.request("GET", f"/api/v1/ballots/{ballot_id}")
                read = time.perf_counter() - t0
                pool.put_nowait(client)
            published = json.loads(body)
            print(f"GET /api/v1/ballots/{{id}} after the draw: {status}, {len(body) / 1024:.0f} KiB, "
                  f"{len(published['entry_ids'])} entry ids, {len(published['winners'])} winners, {read * 1000:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=10000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--slots", type=int, default=10)
    parser.add_argument("--capacity", type=int, default=50)
    parser.add_argument("--pool", type=int, default=32, help="server's database pool size")
    asyncio.run(main(parser.parse_args()))
