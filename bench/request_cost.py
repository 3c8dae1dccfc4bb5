"""What one booking request costs the API process, serially, through the whole app: the
ASGI callable of ``booking serve``'s app (middleware, authentication, rate limit,
validation, the write, metrics, the answer) driven in this process without a socket, next
to the floor (bench/floor_app.py) driven the same way. Python CPU per request moves much
less with the machine's load than throughput does; this is the figure to compare before
and after a change to the request's path. Run by hand:

    .venv/bin/python bench/request_cost.py [--requests 3000] [--rounds 3] [--profile] 2>/dev/null

Prints, for each round (endpoint, floor and the endpoint's work without Litestar's
layers, each round another first, so that a drift of the machine shows as a drift and no
position favours one): Python CPU per request in this process and the PostgreSQL
backends' CPU per request. ``--profile`` adds cProfile's view of one round of the endpoint (cumulative).
No HTTP parsing or socket I/O is in these figures (uvicorn's share is the same for all three).
The server's logs go to stderr, as they do in a deployment (one access line per request).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import pstats
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from common import (
    SH,
    _backend_cpu,
    bench_database,
    bench_secrets,
    load_line,
    make_couple_accounts,
    parties,
    primitive_tables,
    seed_office,
    seed_slots,
)
from redis.asyncio import Redis

PATH = "/api/v1/appointments"


def _scope(body: bytes, token: str | None) -> dict[str, Any]:
    headers = [(b"host", b"bench"), (b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": PATH, "raw_path": PATH.encode(), "root_path": "",
            "query_string": b"", "headers": headers, "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000)}


async def call(app: Any, body: bytes, token: str | None) -> int:
    """One request through the ASGI callable, as uvicorn would hand it over; its status."""
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # the client stays connected
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(body, token), receive, send)
    return status


def without_the_framework(app: Any) -> Any:
    """The endpoint's own work for an unkeyed booking that succeeds, as an ASGI callable
    without Litestar's layers (router, middleware stack, signature model, guards, response
    objects): the token check, the rate limit, the body's validation, ``book()``, the
    answer, the access line and the metrics. What a path in front of Litestar could at best
    save; a measurement only (it answers no error, checks no header it is not given)."""
    from litestar.serialization import encode_json

    from booking.accounts.principal import Principal
    from booking.accounts.revocation import SessionClaims
    from booking.accounts.tokens import AccessToken
    from booking.appointments.schemas import AppointmentCreate
    from booking.appointments.services.book import book
    from booking.logs import log_request
    from booking.observability.metrics import observe_request

    runtime = app.state.runtime
    settings = runtime.settings
    options = {"verify_aud": True, "verify_iss": True, "require": ["exp", "sub", "aud", "iss"]}

    async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = time.perf_counter()
        token = dict(scope["headers"])[b"authorization"][7:].decode()
        claims = AccessToken.decode_payload(token, settings.secret_key, ["HS256"], issuer=[settings.token_issuer],
                                            audience=[settings.token_audience], options=options)
        extras = claims["extras"]
        session = SessionClaims(uuid.UUID(claims["sub"]), claims["jti"], extras["role"], extras.get("office"),
                                extras["sv"])
        user = Principal(id=session.account_id, role=session.role, office_id=session.office_id)
        limiter = runtime.rate_limiter
        await limiter.check("booking", address_key=limiter.address_key(scope), account=user.id,
                            now=runtime.clock.now().timestamp())
        data = AppointmentCreate.model_validate_json((await receive())["body"])
        unchecked = session if runtime.account_gate.known(session) is None else None
        status, body = await book(runtime, user, data, key=None, locale="zh_Hans_CN", account_check=unchecked)
        content = encode_json(body)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(content)).encode())]})
        await send({"type": "http.response.body", "body": content})
        elapsed = time.perf_counter() - started
        log_request(scope, status, elapsed)
        observe_request(PATH, "POST", status, elapsed)

    return bare


async def _pids(dsn: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r[0] for r in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    finally:
        await conn.close()


async def measure(app: Any, dsn: str, jobs: list[tuple[bytes, str | None]], expect: int, label: str,
                  profile: bool = False) -> float:
    pids = await _pids(dsn)
    pg_before = sum(_backend_cpu(p) or 0 for p in pids)
    profiler = cProfile.Profile(time.process_time) if profile else None  # CPU, not waits
    py_before = time.process_time()
    if profiler:
        profiler.enable()
    for body, token in jobs:
        status = await call(app, body, token)
        assert status == expect, status
    if profiler:
        profiler.disable()
    py = time.process_time() - py_before
    pg = sum(_backend_cpu(p) or 0 for p in pids) - pg_before
    n = len(jobs)
    print(f"{label}: per request Python CPU {py / n * 1e6:.0f} µs, PostgreSQL backends {pg / n * 1e6:.0f} µs")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
    return py / n


async def _jobs(dsn: str, secret_key: str, slots: list[int], count: int,
                booking: bool) -> list[tuple[bytes, str | None]]:
    """A booking's body and a fresh couple's token each (an account books once), or the
    floor's body (a slot, no token)."""
    if not booking:
        return [(json.dumps({"slot_id": slots[i % len(slots)]}).encode(), None) for i in range(count)]
    accounts = await make_couple_accounts(dsn, secret_key, count)
    return [(json.dumps({"slot_id": slots[i % len(slots)], "service": "marriage_registration",
                         "parties": parties()}).encode(), a.token) for i, a in enumerate(accounts)]


async def main(args: argparse.Namespace) -> None:
    from booking.app import create_app
    from booking.logs import configure_logging
    from booking.settings import Settings

    queue = f"bench:{uuid.uuid4().hex}"
    async with bench_database() as (dsn, url):
        keys = bench_secrets()
        office_id = await seed_office(dsn, datetime.now(SH) - timedelta(hours=1), 15)
        day = datetime.now(SH).date() + timedelta(days=10)
        slots = await seed_slots(dsn, office_id, day, 1000, 1000, minutes=1)
        conn = await asyncpg.connect(dsn)
        await conn.execute(primitive_tables("floor"))
        await conn.executemany("INSERT INTO floor_slot (id, capacity) VALUES ($1, $2)",
                               [(s, 1_000_000) for s in slots])
        await conn.close()

        settings = Settings(database_url=url, secret_key=keys["BOOKING_SECRET_KEY"], data_key=keys["BOOKING_DATA_KEY"],
                            env="development", data_dir="/tmp/booking-bench", db_pool_size=4,
                            db_fast_pool_size=2, db_fast_pool_min_size=2, db_max_overflow=0,
                            rate_limits={"booking": [10, 100_000_000, 60]},
                            # as a deployment runs: the outbox leaves through a worker (none runs
                            # here; the queue is dropped after), not in this process's loop
                            redis_url=args.redis, queue_name=queue)
        app = create_app(settings)
        os.environ["FLOOR_DSN"], os.environ["FLOOR_POOL"] = dsn, "2"
        import floor_app

        # the logs as ``booking serve`` configures them (the floor's Litestar app sets up its
        # own default handlers on import): the access line is part of a request's cost
        configure_logging(settings.log_level)
        print(load_line())
        async with app.lifespan(), floor_app.app.lifespan():
            contenders = [("the endpoint", app, True), ("the floor", floor_app.app, False),
                          ("the endpoint's work without Litestar's layers", without_the_framework(app), True)]
            spent: dict[str, list[float]] = {name: [] for name, _, _ in contenders}
            for round_ in range(args.rounds + 1):  # the first round warms them up
                label = "warm-up" if round_ == 0 else f"round {round_}"
                # a different one goes first each round: none is always measured in the same place
                for name, target, booking in contenders[round_ % 3:] + contenders[:round_ % 3]:
                    jobs = await _jobs(dsn, keys["BOOKING_SECRET_KEY"], slots, args.requests, booking)
                    gc.collect()
                    gc.freeze()
                    cost = await measure(target, dsn, jobs, 201, f"{label}, {name}",
                                         profile=args.profile and round_ == args.rounds and target is app)
                    if round_:
                        spent[name].append(cost)
            endpoint, floor, bare = spent.values()
            print(f"endpoint: {min(endpoint) * 1e6:.0f}-{max(endpoint) * 1e6:.0f} µs per request; floor: "
                  f"{min(floor) * 1e6:.0f}-{max(floor) * 1e6:.0f} µs; above the floor: "
                  f"{(min(endpoint) - min(floor)) * 1e6:.0f} µs (best rounds); without Litestar's layers: "
                  f"{min(bare) * 1e6:.0f}-{max(bare) * 1e6:.0f} µs")
        print(load_line())
    redis = Redis.from_url(args.redis)
    try:
        # the jobs this run queued (arq: the queue is a sorted set of job ids, each job a key)
        job_ids = [j.decode() for j in await redis.zrange(queue, 0, -1)]
        for start in range(0, len(job_ids), 500):
            await redis.delete(*(f"arq:job:{j}" for j in job_ids[start:start + 500]))
        await redis.delete(queue)
    finally:
        await redis.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/5")
    asyncio.run(main(parser.parse_args()))
