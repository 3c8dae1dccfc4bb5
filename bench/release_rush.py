"""The 08:30 rush: thousands of couples press "book" the second a day is released.

Run by hand against PostgreSQL (nothing here is a test):

    .venv/bin/python bench/release_rush.py [--couples 2000] [--connections 64]
        [--slots 20] [--capacity 5] [--sustained 3000] [--warm 200] [--workers 1] [--pool 32] [--fast-pool 10]
        [--processes N [--redis redis://127.0.0.1:6379/5]] [--no-floor]

1. Seeds an office whose next day is released a few seconds from now, with ``--slots``
   slots of ``--capacity`` seats; starts the real server (``booking serve``, uvicorn) in
   its own process; at the release moment ``--couples`` couples try to book through
   ``POST /api/v1/appointments`` over ``--connections`` keep-alive connections.
   Prints bookings (must equal the total capacity), outcomes as the clients saw them and
   as the server's /metrics counted them (the same vocabulary; they must agree), overbooked
   slots (must be 0), requests/s, latency percentiles and when the requests over 100 ms
   were sent. Before the moment, ``--warm`` bookings on another day go through the same
   connections: the server has been serving that morning, as a registry's would at 08:30
   (``--warm 0``: a server started just before the moment).
2. Sustained booking throughput: ``--sustained`` bookings that all succeed (1,000 slots
   with room), against the raw primitive measured in the same process (the conditional
   UPDATE + INSERT in one transaction through plain asyncpg, 1,000 slots, 32
   connections, DESIGN.md section 8), and the ratio of the two.
3. With ``--processes N``: N ``booking serve`` processes on N ports (the client splits its
   connections evenly, as a load balancer would) and N arq workers (``booking worker``)
   deliver the outbox through Redis to an SMTP server in the bench; after the phases it
   waits for the outbox to settle and prints whether every confirmation e-mail arrived
   exactly once (by its dedupe key) and whether anything arrived twice.
4. The floor (``--no-floor`` skips it): the same rush and sustained phases, with the same
   client, requests and connections, against a minimal Litestar POST doing only the raw
   primitive (``bench/floor_app.py``, served by uvicorn as ``booking serve`` is): the rush
   p99 and the ratio to the primitive that HTTP and the framework alone reach on this
   machine, and the endpoint's ratio to that floor.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta

import asyncpg
from common import (
    SH,
    Account,
    Prepared,
    SmtpCounter,
    answer_outcome,
    bench_database,
    bench_secrets,
    client_pool,
    latency_line,
    load_line,
    make_couple_accounts,
    metrics_outcomes,
    outbox_counts,
    outbox_settled,
    parties,
    percentile,
    pg_cost_line,
    pg_snapshot,
    primitive_tables,
    print_outcomes,
    raw_booking_primitive,
    request_bytes,
    running_server,
    running_worker,
    seed_office,
    seed_slots,
    server_cpu,
    worker_cpu,
)


async def _fire(addresses: list[str], connections: int, jobs: list[tuple[Account, int]], start_at: float
                ) -> tuple[list[float], Counter[str], float, list[float]]:
    """The jobs over the connections from ``start_at``: latencies, outcomes, elapsed seconds,
    and when each request was sent (seconds after the start, in the latencies' order)."""
    latencies: list[float] = []
    sent: list[float] = []
    outcomes: Counter[str] = Counter()
    queue: asyncio.Queue[Prepared] = asyncio.Queue()
    for account, slot_id in jobs:  # built before the moment, as each couple's phone would
        queue.put_nowait(Prepared(request_bytes(
            "127.0.0.1", "POST", "/api/v1/appointments",
            {"slot_id": slot_id, "service": "marriage_registration", "parties": parties()},
            {"Authorization": f"Bearer {account.token}"})))
    async with contextlib.AsyncExitStack() as stack:
        # the connections split evenly over the API processes (as a load balancer would)
        pools = [await stack.enter_async_context(client_pool(a, connections // len(addresses)))
                 for a in addresses]
        clients = [pool.get_nowait() for pool in pools for _ in range(connections // len(addresses))]
        # open the connections before the moment, as browsers and apps would have
        await asyncio.gather(*(c.request("GET", "/health") for c in clients))
        await asyncio.sleep(max(0.0, start_at - time.time()))
        started = time.perf_counter()

        async def worker(client) -> None:  # type: ignore[no-untyped-def]
            while not queue.empty():
                prepared = queue.get_nowait()
                t0 = time.perf_counter()
                status, body = await client.request("POST", "/api/v1/appointments", prepared)
                latencies.append(time.perf_counter() - t0)
                sent.append(t0 - started)
                outcomes[answer_outcome(status, body)] += 1

        await asyncio.gather(*(worker(c) for c in clients))
        elapsed = time.perf_counter() - started
        for i, c in enumerate(clients):
            pools[i // (connections // len(addresses))].put_nowait(c)
    return latencies, outcomes, elapsed, sent


def _slow_line(latencies: list[float], sent: list[float], over: float = 0.1) -> str:
    slow = sorted(s for s, latency in zip(sent, latencies, strict=True) if latency > over)
    if not slow:
        return f"over {over * 1000:.0f} ms: none"
    return (f"over {over * 1000:.0f} ms: {len(slow)} requests, sent {slow[0] * 1000:.0f} to "
            f"{slow[-1] * 1000:.0f} ms after the moment (median {slow[len(slow) // 2] * 1000:.0f} ms)")


async def _counted(addresses: list[str]) -> Counter[str]:
    """The outcomes in /metrics, summed over the API processes."""
    total: Counter[str] = Counter()
    for address in addresses:
        total.update(await metrics_outcomes(address))
    return total


async def _deliveries(dsn: str, sink: SmtpCounter, worker_before: float, worker_in_phase: float,
                      settled_before: int, bookings: int) -> None:
    """Once the outbox has settled: every confirmation e-mail reached the SMTP server
    exactly once (by its dedupe key), and nothing else arrived twice; the workers' CPU
    during the sustained phase and in all, per message."""
    started = time.perf_counter()
    states = await outbox_settled(dsn)
    settled = time.perf_counter() - started
    worker_seconds = worker_cpu() - worker_before
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT id, state FROM notification WHERE kind = 'appointment.confirmed' "
                                "AND channel = 'email'")
    finally:
        await conn.close()
    confirmations = {str(r["id"]): r["state"] for r in rows}
    once = sum(1 for i in confirmations if sink.received[i] == 1)
    twice = sum(1 for n in sink.received.values() if n > 1)
    print("\n== the outbox, delivered by the workers ==")
    print(f"notifications by state: {states} (settled {settled:.1f} s after the last booking)")
    print(f"confirmation e-mails: {len(confirmations)} for {bookings} bookings; received exactly once: {once}; "
          f"received more than once (any message): {twice}; messages at the SMTP server: "
          f"{sum(sink.received.values())}")
    print(f"exact delivery: {'yes' if once == len(confirmations) == bookings and not twice else 'NO'}; "
          f"workers' CPU during the sustained phase {worker_in_phase:.1f} s, with the drain after it "
          f"{worker_seconds:.1f} s ({worker_seconds / max(1, sum(states.values()) - settled_before) * 1000:.2f} ms "
          f"per message settled since the phase began)")


async def main(args: argparse.Namespace) -> None:
    async with bench_database() as (dsn, url):
        keys = bench_secrets()
        now_local = datetime.now(SH)
        # room before the moment for the set-up, and for the warm-up's bookings and their delivery
        # (a worker's sweep runs every 20 s: room for one to deliver them with --processes), and
        # then for PostgreSQL's statistics to take in the warm-up's rows (below)
        release = (now_local + timedelta(seconds=12 + (31 + (25 if args.processes else 0) if args.warm else 0))
                   ).replace(microsecond=0)
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
               "BOOKING_DB_FAST_POOL_SIZE": str(args.fast_pool), "BOOKING_DB_FAST_POOL_MIN_SIZE": str(args.fast_pool),
               "BOOKING_DB_MAX_OVERFLOW": "0", "BOOKING_ENV": "development", "BOOKING_DATA_DIR": "/tmp/booking-bench",
               "BOOKING_RATE_LIMITS": '{"booking": [10, 100000000, 60]}'}
        sink = None
        with contextlib.ExitStack() as stack:
            if args.processes:
                # N API processes on N ports and N arq workers delivering the outbox (Redis) to
                # an SMTP server of the bench's own, which counts every message it receives
                sink = stack.enter_context(SmtpCounter())
                env.update({"BOOKING_REDIS_URL": args.redis, "BOOKING_QUEUE_NAME": f"bench:{uuid.uuid4().hex}",
                            "BOOKING_SMTP_HOST": "127.0.0.1", "BOOKING_SMTP_PORT": str(sink.port)})
                addresses = [stack.enter_context(running_server(env)) for _ in range(args.processes)]
                for _ in range(args.processes):
                    stack.enter_context(running_worker(env))
                print(f"{args.processes} API processes (pools {args.pool} + fast {args.fast_pool} each) and "
                      f"{args.processes} arq workers")
            else:
                addresses = [stack.enter_context(running_server(env, workers=args.workers))]
            print(f"release moment {release.isoformat()} for {rush_day}: {args.couples} couples, "
                  f"{args.connections} connections, {args.slots} slots x {args.capacity} seats")
            jobs = [(a, rush_slots[i % len(rush_slots)]) for i, a in enumerate(accounts)]
            warmed: Counter[str] = Counter()
            if args.warm:
                # that morning's bookings before the moment, on the last of the steady day's slots
                warm_accounts = await make_couple_accounts(dsn, keys["BOOKING_SECRET_KEY"], args.warm)
                _, warmed, _, _ = await _fire(addresses, args.connections,
                                              [(a, steady_slots[-1 - i]) for i, a in enumerate(warm_accounts)],
                                              time.time())
                # their confirmations leave before the moment (in-process, or by the worker's
                # sweep), so that the rush measures the rush's own work
                await outbox_settled(dsn, timeout=max(1.0, release.timestamp() - time.time() - 13))
                print(f"before the moment (--warm): {dict(warmed)}")
                # idle backends report their row counts within 10 s (PostgreSQL 15): the rush's
                # baseline below must already hold the warm-up's rows, not count them as the rush's
                await asyncio.sleep(max(0.0, min(11.0, release.timestamp() - time.time() - 2)))
            # the bench's own heap (thousands of accounts and tokens) out of its collector's
            # walk: a full collection in the client would stall its reading of the answers and
            # count as the server's latency
            gc.collect()
            gc.freeze()
            print(load_line())
            counted_before = await _counted(addresses)
            cost_before = await pg_snapshot(dsn)
            cpu_before = server_cpu()
            latencies, outcomes, elapsed, sent = await _fire(addresses, args.connections, jobs,
                                                             release.timestamp() + 0.05)
            jobs_of_rush, rush_p99 = jobs, percentile(latencies, 99)
            rush_server = (server_cpu() - cpu_before) / len(jobs)
            counted_after = await _counted(addresses)
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
            print(_slow_line(latencies, sent))
            print(f"{rush_cost}; server process CPU {rush_server * 1000:.2f} ms")
            print(load_line())

            print(f"\n== sustained bookings ({args.sustained}, all succeed) ==")
            jobs = steady_jobs = [(steady_accounts[i], steady_slots[i % len(steady_slots)])
                                  for i in range(args.sustained)]
            counted_before = await _counted(addresses)
            cost_before = await pg_snapshot(dsn)
            settled_before = sum(n for state, n in (await outbox_counts(dsn)).items() if state != "pending")
            cpu_before, worker_before = server_cpu(), worker_cpu()
            latencies, outcomes, elapsed, _ = await _fire(addresses, args.connections, jobs, time.time())
            ended, cpu_at_end, worker_at_end = time.perf_counter(), server_cpu(), worker_cpu()
            steady_server = (cpu_at_end - cpu_before) / max(1, outcomes["booked"])
            counted_after = await _counted(addresses)
            endpoint_rate = outcomes["booked"] / elapsed
            print_outcomes(outcomes, counted_before, counted_after)
            print(f"POST /api/v1/appointments: {endpoint_rate:.0f} bookings/s; {latency_line(latencies)}")
            print(f"{await pg_cost_line(dsn, cost_before, max(1, outcomes['booked']))}; "
                  f"server process CPU {steady_server * 1000:.2f} ms")
            if sink is not None:
                # the warm-up's bookings were confirmed by the same workers
                await _deliveries(dsn, sink, worker_before, worker_at_end - worker_before, settled_before,
                                  warmed["booked"] + booked + outcomes["booked"])
            else:
                # in-process delivery yields to requests (BOOKING_BACKGROUND_YIELD_SECONDS): the
                # confirmations leave once the load has passed; what that took, and its CPU
                states = await outbox_settled(dsn)
                print(f"outbox delivered in-process after the phase: {states}; settled "
                      f"{time.perf_counter() - ended:.1f} s after it; server CPU meanwhile "
                      f"{(server_cpu() - cpu_at_end) / max(1, outcomes['booked']) * 1000:.2f} ms per booking")

        primitive = await raw_booking_primitive(dsn, transactions=max(args.sustained, 5000))
        print(f"raw primitive (asyncpg, UPDATE+INSERT in one transaction, 1,000 slots, 32 connections): "
              f"{primitive:.0f} tx/s")
        print(f"ratio endpoint / primitive: {endpoint_rate / primitive:.2f}")
        print(load_line())
        if args.floor:
            await _floor(dsn, args, jobs_of_rush, steady_jobs, primitive, endpoint_rate, rush_p99)


async def _floor(dsn: str, args: argparse.Namespace, rush_jobs: list[tuple[Account, int]],
                 steady_jobs: list[tuple[Account, int]], primitive: float, endpoint_rate: float,
                 rush_p99: float) -> None:
    """The same rush and sustained phases against the floor (bench/floor_app.py: a minimal
    Litestar POST doing only the primitive, served as the service is), with the same client,
    requests and connections: what HTTP and the framework alone leave of the primitive here."""
    print("\n== the floor: a minimal Litestar POST doing only the primitive (bench/floor_app.py) ==")
    conn = await asyncpg.connect(dsn)
    await conn.execute(primitive_tables("floor"))  # the primitive's tables
    rush_slots = {slot for _, slot in rush_jobs}
    await conn.executemany("INSERT INTO floor_slot (id, capacity) VALUES ($1, $2)",
                           [(slot, args.capacity) for slot in rush_slots]
                           + [(slot, 1_000_000) for slot in {slot for _, slot in steady_jobs} - rush_slots])
    with running_server({"FLOOR_DSN": dsn, "FLOOR_POOL": str(args.fast_pool)}, app="floor_app:app") as address:
        if args.warm:  # served a while before the moment, as the service was
            await _fire([address], args.connections, steady_jobs[:args.warm], time.time())
        latencies, outcomes, elapsed, _ = await _fire([address], args.connections, rush_jobs, time.time() + 1.0)
        booked = await conn.fetchval("SELECT count(*) FROM floor_booking b WHERE b.slot_id = ANY($1::bigint[])",
                                     list(rush_slots))
        p99 = percentile(latencies, 99)
        print(f"rush: {booked} booked of {len(rush_slots) * args.capacity}, outcomes {dict(outcomes)}; "
              f"{len(latencies) / elapsed:.0f} requests/s; {latency_line(latencies)}")
        print(f"the endpoint's rush p99 / the floor's: {rush_p99 * 1000:.1f} / {p99 * 1000:.1f} ms")
        cpu_before = server_cpu()
        latencies, outcomes, elapsed, _ = await _fire([address], args.connections, steady_jobs, time.time())
        rate = outcomes["booked"] / elapsed
        print(f"sustained: {rate:.0f} bookings/s; {latency_line(latencies)}; server process CPU "
              f"{(server_cpu() - cpu_before) / max(1, outcomes['booked']) * 1000:.2f} ms per booking")
        print(f"ratio floor / primitive: {rate / primitive:.2f}; endpoint / floor: {endpoint_rate / rate:.2f}")
    await conn.close()
    print(load_line())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--couples", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--slots", type=int, default=20)
    parser.add_argument("--capacity", type=int, default=5)
    parser.add_argument("--sustained", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--warm", type=int, default=200,
                        help="bookings on another day before the moment (the server has been serving); 0: none")
    parser.add_argument("--pool", type=int, default=32, help="server's database pool size (each process's)")
    parser.add_argument("--fast-pool", type=int, default=10,
                        help="the hot paths' asyncpg pool per process (BOOKING_DB_FAST_POOL_SIZE, opened in full)")
    parser.add_argument("--processes", type=int, default=0,
                        help="N `booking serve` processes on N ports (the client splits its connections) and N "
                        "arq workers delivering the outbox to an SMTP server of the bench's; 0: one server "
                        "that delivers in-process (no Redis)")
    parser.add_argument("--no-floor", dest="floor", action="store_false",
                        help="skip the floor: the same phases against a minimal Litestar POST doing only the "
                        "primitive (bench/floor_app.py)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/5",
                        help="Redis for --processes (a queue name of its own per run)")
    asyncio.run(main(parser.parse_args()))
