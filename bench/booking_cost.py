"""What one booking costs, measured serially in one process (no HTTP, no concurrency):
the Python CPU of ``book()`` and the CPU of the PostgreSQL backend that ran its write,
per booking, and what parts of the write cost (the ballots' claim trigger, the plan).

Load on a shared machine stretches wall-clock times, much less CPU times: these are the
figures to compare before/after. Run by hand:

    .venv/bin/python bench/booking_cost.py [--bookings 2000] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time
from datetime import datetime, timedelta

from common import (
    SH,
    _backend_cpu,
    bench_database,
    bench_secrets,
    load_line,
    make_couple_accounts,
    parties,
    seed_office,
    seed_slots,
)


async def _backend_pids(rt) -> list[int]:  # type: ignore[no-untyped-def]
    async with rt.db.raw() as conn:
        return [int(await conn.fetchval("SELECT pg_backend_pid()"))]


async def run(rt, accounts, slots, label: str, profile: bool = False,  # type: ignore[no-untyped-def]
              account_in_write: bool = False) -> None:
    import uuid

    from booking.accounts.principal import Principal
    from booking.accounts.revocation import SessionClaims
    from booking.appointments.schemas import AppointmentCreate
    from booking.appointments.services.book import book

    pids = await _backend_pids(rt)
    requests = [AppointmentCreate.model_validate({"slot_id": slots[i % len(slots)], "service": "marriage_registration",
                                              "parties": parties()}) for i in range(len(accounts))]
    pg_before = sum(_backend_cpu(p) or 0 for p in pids)
    py_before = time.process_time()
    started = time.perf_counter()
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    for account, data in zip(accounts, requests, strict=True):
        # a token this process has not seen: the write checks its account (the rush's case)
        check = SessionClaims(account.id, uuid.uuid4().hex, "couple", None, 0) if account_in_write else None
        status, _ = await book(rt, Principal(account.id, "couple"), data, key=None, locale="zh_Hans_CN",
                               account_check=check)
        assert status == 201
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    py = time.process_time() - py_before
    pg = sum(_backend_cpu(p) or 0 for p in pids) - pg_before
    n = len(accounts)
    print(f"{label}: {n / elapsed:.0f} bookings/s serial; per booking: Python CPU {py / n * 1000:.2f} ms, "
          f"PostgreSQL backend CPU {pg / n * 1000:.2f} ms")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


async def main(args: argparse.Namespace) -> None:
    from booking.background.wiring import register_areas
    from booking.runtime import Runtime
    from booking.settings import Settings

    async with bench_database() as (dsn, url):
        keys = bench_secrets()
        office_id = await seed_office(dsn, datetime.now(SH) - timedelta(hours=1), 15)
        day = datetime.now(SH).date() + timedelta(days=10)
        slots = await seed_slots(dsn, office_id, day, 1000, 1000, minutes=1)
        settings = Settings(database_url=url, secret_key=keys["BOOKING_SECRET_KEY"], data_key=keys["BOOKING_DATA_KEY"],
                            env="development", db_fast_pool_size=1, data_dir="/tmp/booking-bench")
        rt = Runtime.build(settings)
        register_areas()
        try:
            print(load_line())
            warm = await make_couple_accounts(dsn, keys["BOOKING_SECRET_KEY"], 200)
            await run(rt, warm, slots, "warm-up")
            for label, sql, *in_write in args.variants:
                if sql:
                    async with rt.db.raw() as conn:
                        await conn.execute(sql)
                accounts = await make_couple_accounts(dsn, keys["BOOKING_SECRET_KEY"], args.bookings)
                await run(rt, accounts, slots, label, profile=args.profile and label == "as shipped",
                          account_in_write=bool(in_write))
            print(load_line())
        finally:
            await rt.close()
            await rt.db.dispose()


_OFF = "ALTER TABLE appointment_party DISABLE TRIGGER USER"
_ON = "ALTER TABLE appointment_party ENABLE TRIGGER USER"
# interleaved, so that a drift of the machine's load shows as a drift, not as a difference
VARIANTS = [
    ("as shipped", None),
    ("the account checked in the write (a token not cached)", None, True),
    ("without the ballots' claim trigger", _OFF),
    ("as shipped (again)", _ON),
    ("without the trigger (again)", _OFF),
    ("custom plans forced (what a plan costs)", _ON + "; SET plan_cache_mode = force_custom_plan"),
]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bookings", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--only-shipped", action="store_true")
    ns = parser.parse_args()
    ns.variants = VARIANTS[:1] if ns.only_shipped else VARIANTS
    asyncio.run(main(ns))
