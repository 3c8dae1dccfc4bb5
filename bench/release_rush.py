"""The 08:30 rush: thousands of couples press "book" the second a day is released.

Run by hand against PostgreSQL (nothing here is a test):

    .venv/bin/python bench/release_rush.py [--couples 2000] [--connections 64]
        [--slots 20] [--capacity 5] [--sustained 3000] [--workers 1]

1. Seeds an office whose next day is released a few seconds from now, with ``--slots``
   slots of ``--capacity`` seats; starts the real server (``booking serve``, uvicorn) in
   its own process; at the release moment ``--couples`` couples try to book through
   ``POST /api/v1/appointments`` over ``--connections`` keep-alive connections.
   Prints bookings (must equal the total capacity), outcomes as the clients saw them and
   as the server's /metrics counted them (the same vocabulary; they must agree), overbooked
   slots (must be 0), requests/s and latency percentiles.
2. Sustained booking throughput: ``--sustained`` bookings that all succeed (1,000 slots
   with room), against the raw primitive measured in the same process (the conditional
   UPDATE + INSERT in one transaction through plain asyncpg, 1,000 slots, 32
   connections, DESIGN.md section 8), and the ratio of the two.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from datetime import datetime, timedelta

import asyncpg
from common import (
    SH,
    Account,
    answer_outcome,
    bench_database,
    bench_secrets,
    client_pool,
    latency_line,
    load_line,
    make_couple_accounts,
    metrics_outcomes,
    parties,
    pg_cost_line,
    pg_snapshot,
    print_outcomes,
    raw_booking_primitive,
    running_server,
    seed_office,
    seed_slots,
    server_cpu,
)


async def _fire(address: str, connections: int, jobs: list[tuple[Account, int]], start_at: float
                ) -> tuple[list[float], Counter[str], float]:
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    queue: asyncio.Queue[tuple[Account, int]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    async with client_pool(address, connections) as pool:
        clients = [pool.get_nowait() for _ in range(connections)]
        # open the connections before the moment, as browsers and apps would have
        await asyncio.gather(*(c.request("GET", "/health") for c in clients))
        await asyncio.sleep(max(0.0, start_at - time.time()))
        started = time.perf_counter()

        async def worker(client) -> None:  # type: ignore[no-untyped-def]
            while not queue.empty():
                account, slot_id = queue.get_nowait()
                t0 = time.perf_counter()
                status, body = await client.request(
                    "POST", "/api/v1/appointments",
                    {"slot_id": slot_id, "service": "marriage_registration", "parties": parties()},
                    {"Authorization": f"Bearer {account.token}"})
                latencies.append(time.perf_counter() - t0)
                outcomes[answer_outcome(status, body)] += 1

        await asyncio.gather(*(worker(c) for c in clients))
        elapsed = time.perf_counter() - started
        for c in clients:
            pool.put_nowait(c)
    return latencies, outcomes, elapsed


async def main(args: argparse.Namespace) -> None:
    async with bench_database() as (dsn, url):
        keys = bench_secrets()
        now_local = datetime.now(SH)
        release = (now_local + timedelta(seconds=12)).replace(microsecond=0)
        window = 15
        office_id = await seed_office(dsn, release, window)
        rush_day = release.date() + timedelta(days=window)
        rush_slots = await seed_slots(dsn, office_id, rush_day, args.slots, args.capacity)
        steady_day = rush_day - timedelta(days=3)  # already released: the sustained phase
        steady_slots = await seed_slots(dsn, office_id, steady_day, 1000, 1000, minutes=1)
        accounts = await make_couple_accounts(dsn, keys["BOOKING_SECRET_KEY"], args.couples)
        # 实名: an account books for its holder, once per service: the sustained phase has its own
        steady_accounts = await make_couple_accounts(dsn, keys["BOOKING_SECRET_KEY"], args.sustained)

        # The rate limiter stays on (its cost is measured); the whole load comes from one
        # address, so the per-address limit is lifted out of the way.
        env = {**keys, "BOOKING_DATABASE_URL": url, "BOOKING_DB_POOL_SIZE": str(args.pool),
               "BOOKING_DB_MAX_OVERFLOW": "0", "BOOKING_ENV": "development", "BOOKING_DATA_DIR": "/tmp/booking-bench",
               "BOOKING_RATE_LIMITS": '{"booking": [10, 100000000, 60]}'}
        with running_server(env, workers=args.workers) as address:
            print(f"release moment {release.isoformat()} for {rush_day}: {args.couples} couples, "
                  f"{args.connections} connections, {args.slots} slots x {args.capacity} seats")
            jobs = [(a, rush_slots[i % len(rush_slots)]) for i, a in enumerate(accounts)]
            print(load_line())
            counted_before = await metrics_outcomes(address)
            cost_before = await pg_snapshot(dsn)
            cpu_before = server_cpu()
            latencies, outcomes, elapsed = await _fire(address, args.connections, jobs, release.timestamp() + 0.05)
            rush_server = (server_cpu() - cpu_before) / len(jobs)
            counted_after = await metrics_outcomes(address)
            rush_cost = await pg_cost_line(dsn, cost_before, len(jobs), "request")
            conn = await asyncpg.connect(dsn)
            booked = await conn.fetchval("SELECT count(*) FROM appointment a JOIN slot s ON s.id = a.slot_id "
                                         "WHERE s.local_date = $1", rush_day)
            overbooked = await conn.fetchval(
                "SELECT count(*) FROM (SELECT s.id FROM slot s LEFT JOIN appointment a ON a.slot_id = s.id "
                "WHERE s.local_date = $1 GROUP BY s.id, s.capacity, s.booked "
                "HAVING count(a.id) > s.capacity OR s.booked <> count(a.id)) x", rush_day)
            await conn.close()
            print("\n== the rush ==")
            print(f"successful bookings: {booked} (total capacity {args.slots * args.capacity})")
            print_outcomes(outcomes, counted_before, counted_after)
            print(f"overbooked or miscounted slots: {overbooked}")
            print(f"{len(latencies) / elapsed:.0f} requests/s; {latency_line(latencies)}")
            print(f"{rush_cost}; server process CPU {rush_server * 1000:.2f} ms")

            print(f"\n== sustained bookings ({args.sustained}, all succeed) ==")
            jobs = [(steady_accounts[i], steady_slots[i % len(steady_slots)]) for i in range(args.sustained)]
            counted_before = await metrics_outcomes(address)
            cost_before = await pg_snapshot(dsn)
            cpu_before = server_cpu()
            latencies, outcomes, elapsed = await _fire(address, args.connections, jobs, time.time())
            steady_server = (server_cpu() - cpu_before) / max(1, outcomes["booked"])
            counted_after = await metrics_outcomes(address)
            endpoint_rate = outcomes["booked"] / elapsed
            print_outcomes(outcomes, counted_before, counted_after)
            print(f"POST /api/v1/appointments: {endpoint_rate:.0f} bookings/s; {latency_line(latencies)}")
            print(f"{await pg_cost_line(dsn, cost_before, max(1, outcomes['booked']))}; "
                  f"server process CPU {steady_server * 1000:.2f} ms")

        primitive = await raw_booking_primitive(dsn, transactions=max(args.sustained, 5000))
        print(f"raw primitive (asyncpg, UPDATE+INSERT in one transaction, 1,000 slots, 32 connections): "
              f"{primitive:.0f} tx/s")
        print(f"ratio endpoint / primitive: {endpoint_rate / primitive:.2f}")
        print(load_line())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--couples", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--slots", type=int, default=20)
    parser.add_argument("--capacity", type=int, default=5)
    parser.add_argument("--sustained", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pool", type=int, default=32, help="server's database pool size")
    asyncio.run(main(parser.parse_args()))
