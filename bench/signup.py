"""Sign-ups to a wedding event: 2,000 couples for 50 places, the rest on the waitlist.

Run by hand against PostgreSQL (nothing here is a test):

    .venv/bin/python bench/signup.py [--couples 2000] [--places 50] [--connections 64]

Starts the real server, creates a collective wedding with ``--places`` places as its
clerk, then ``--couples`` couples sign up through ``POST /api/v1/events/{id}/signups``
over ``--connections`` keep-alive connections, all at once. Prints: confirmed places
(must equal the places), waitlisted couples and their positions (must be 1..N, each once),
outcomes, requests/s and latency percentiles, rows written and PostgreSQL CPU per
sign-up; then the same number of bookings through ``POST /api/v1/appointments`` in the
same run, and the ratio of the two endpoints' throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta

import asyncpg
from common import (
    SH,
    Account,
    RawClient,
    bench_database,
    bench_secrets,
    client_pool,
    latency_line,
    load_line,
    make_couple_accounts,
    parties,
    pg_cost_line,
    pg_snapshot,
    running_server,
    seed_office,
    seed_slots,
    server_cpu,
)


async def _clerk_token(dsn: str, secret_key: str, office_id: int) -> str:
    import base64

    from booking.accounts.tokens import build_jwt_auth, issue_token
    from booking.settings import Settings

    settings = Settings(secret_key=secret_key, data_key=base64.b64encode(b"x" * 32).decode(),
                        access_token_ttl_seconds=3600)
    clerk = uuid.uuid4()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO user_account (id, email, password_hash, name, locale, role, office_id, is_active, "
            "failed_logins, created_at) VALUES ($1, $2, 'x', 'clerk', 'zh_Hans_CN', 'clerk', $3, true, 0, now())",
            clerk, f"clerk-{clerk.hex}@example.com", office_id)
    finally:
        await conn.close()
    return issue_token(build_jwt_auth(settings), settings, subject=clerk, role="clerk", office_id=office_id)


async def _fire(address: str, connections: int, jobs: list[tuple[Account, str, dict]]
                ) -> tuple[list[float], Counter[str], float]:
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    queue: asyncio.Queue[tuple[Account, str, dict]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    async with client_pool(address, connections) as pool:
        clients = [pool.get_nowait() for _ in range(connections)]
        await asyncio.gather(*(c.request("GET", "/health") for c in clients))
        started = time.perf_counter()

        async def worker(client: RawClient) -> None:
            while not queue.empty():
                account, path, body = queue.get_nowait()
                t0 = time.perf_counter()
                status, answer = await client.request("POST", path, body,
                                                      {"Authorization": f"Bearer {account.token}"})
                latencies.append(time.perf_counter() - t0)
                outcomes[str(status)] += 1

        await asyncio.gather(*(worker(c) for c in clients))
        elapsed = time.perf_counter() - started
        for c in clients:
            pool.put_nowait(c)
    return latencies, outcomes, elapsed


async def main(args: argparse.Namespace) -> None:
    async with bench_database() as (dsn, url):
        keys = bench_secrets()
        now = datetime.now(SH)
        office_id = await seed_office(dsn, now - timedelta(hours=1), 15)
        steady_slots = await seed_slots(dsn, office_id, now.date() + timedelta(days=10), 1000, 1000, minutes=1)
        couples = await make_couple_accounts(dsn, keys["BOOKING_SECRET_KEY"], args.couples)
        bookers = await make_couple_accounts(dsn, keys["BOOKING_SECRET_KEY"], args.couples)
        clerk = await _clerk_token(dsn, keys["BOOKING_SECRET_KEY"], office_id)
        env = {**keys, "BOOKING_DATABASE_URL": url, "BOOKING_DB_POOL_SIZE": "32", "BOOKING_DB_MAX_OVERFLOW": "0",
               "BOOKING_ENV": "development", "BOOKING_DATA_DIR": "/tmp/booking-bench",
               "BOOKING_RATE_LIMITS": '{"booking": [10, 100000000, 60], "signup": [10, 100000000, 60]}'}
        starts = (now + timedelta(days=30)).replace(hour=10, minute=0, second=0, microsecond=0)
        with running_server(env) as address:
            host, port = address.split(":")
            client = RawClient(host, int(port))
            status, body = await client.request("POST", "/api/v1/events", {
                "office_id": office_id, "kind": "collective", "title_zh": "压测集体婚礼", "title_en": "Bench wedding",
                "description_zh": "压测", "description_en": "bench", "venue_zh": "公园", "venue_en": "Park",
                "address_zh": "广州市", "address_en": "Guangzhou", "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=2)).isoformat(), "capacity": args.places},
                {"Authorization": f"Bearer {clerk}"})
            await client.close()
            if status != 201:
                raise RuntimeError(f"event not created: {status} {body[:300]!r}")
            import json

            event_id = json.loads(body)["id"]
            married = (now - timedelta(days=40)).date().isoformat()
            jobs = [(a, f"/api/v1/events/{event_id}/signups", {"parties": parties(), "marriage_date": married})
                    for a in couples]
            print(load_line())
            print(f"{args.couples} couples sign up for {args.places} places, {args.connections} connections")
            cost_before = await pg_snapshot(dsn)
            cpu_before = server_cpu()
            latencies, outcomes, elapsed = await _fire(address, args.connections, jobs)
            signup_server = (server_cpu() - cpu_before) / len(jobs)
            signup_rate = len(latencies) / elapsed
            conn = await asyncpg.connect(dsn)
            counts = dict(await conn.fetch("SELECT status, count(*) FROM signup GROUP BY status"))
            positions = [r[0] for r in await conn.fetch(
                "SELECT arrival_no FROM signup WHERE status = 'waitlisted' ORDER BY arrival_no")]
            event = await conn.fetchrow("SELECT places_taken, waitlisted, arrivals FROM event WHERE id = $1",
                                        uuid.UUID(event_id))
            await conn.close()
            print("\n== sign-ups ==")
            print(f"confirmed: {counts.get('confirmed', 0)} (places {args.places}); waitlisted: "
                  f"{counts.get('waitlisted', 0)}; the event counts {dict(event)}")
            exact = (counts.get("confirmed", 0) == args.places == event["places_taken"]
                     and counts.get("waitlisted", 0) == args.couples - args.places == event["waitlisted"]
                     and len(set(positions)) == len(positions))
            print(f"exact: {'yes' if exact else 'NO'}; answers: {dict(outcomes)}")
            print(f"{signup_rate:.0f} sign-ups/s; {latency_line(latencies)}")
            print(f"{await pg_cost_line(dsn, cost_before, len(jobs), 'sign-up')}; "
                  f"server process CPU {signup_server * 1000:.2f} ms")

            jobs = [(a, "/api/v1/appointments", {"slot_id": steady_slots[i % len(steady_slots)],
                                                 "service": "marriage_registration", "parties": parties()})
                    for i, a in enumerate(bookers)]
            cost_before = await pg_snapshot(dsn)
            cpu_before = server_cpu()
            latencies, outcomes, elapsed = await _fire(address, args.connections, jobs)
            booking_server = (server_cpu() - cpu_before) / len(jobs)
            booking_rate = len(latencies) / elapsed
            print("\n== bookings, same run ==")
            print(f"answers: {dict(outcomes)}; {booking_rate:.0f} bookings/s; {latency_line(latencies)}")
            print(f"{await pg_cost_line(dsn, cost_before, len(jobs))}; server process CPU {booking_server * 1000:.2f} ms")
            print(f"\nratio sign-up / booking endpoint: {signup_rate / booking_rate:.2f}")
            print(load_line())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--couples", type=int, default=2000)
    parser.add_argument("--places", type=int, default=50)
    parser.add_argument("--connections", type=int, default=64)
    asyncio.run(main(parser.parse_args()))
