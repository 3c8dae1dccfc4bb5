"""What delivering one outbox message costs, measured serially in one process: the
confirmations of ``--bookings`` bookings (an e-mail with its invite to the account, an SMS
to the holder's phone) delivered one by one by ``deliver()`` to a real SMTP server in the
bench (aiosmtpd, in a thread of its own) and the log SMS provider. Per message: the CPU of
the delivering thread (the SMTP server's is not counted), PostgreSQL backend CPU, and the
part of the delivering CPU spent building the e-mail (``build_email``).

An arq worker does exactly this per job; at 08:30 it runs next to the API (on the same
cores in ``bench/release_rush.py --processes``). Run by hand:

    .venv/bin/python bench/delivery_cost.py [--bookings 1000] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time
from collections import Counter
from datetime import datetime, timedelta

from booking_cost import run as book_serially
from common import (
    SH,
    SmtpCounter,
    bench_database,
    bench_secrets,
    load_line,
    make_couple_accounts,
    pg_snapshot,
    seed_office,
    seed_slots,
)


async def main(args: argparse.Namespace) -> None:
    from booking.background.wiring import register_areas
    from booking.i18n import load_catalogs
    from booking.notifications import delivery
    from booking.runtime import Runtime
    from booking.settings import Settings

    with SmtpCounter() as sink:
        async with bench_database() as (dsn, url):
            keys = bench_secrets()
            office_id = await seed_office(dsn, datetime.now(SH) - timedelta(hours=1), 15)
            day = datetime.now(SH).date() + timedelta(days=10)
            slots = await seed_slots(dsn, office_id, day, 1000, 1000, minutes=1)
            settings = Settings(database_url=url, secret_key=keys["BOOKING_SECRET_KEY"],
                                data_key=keys["BOOKING_DATA_KEY"], env="development", db_fast_pool_size=1,
                                data_dir="/tmp/booking-bench", smtp_host="127.0.0.1", smtp_port=sink.port)
            rt = Runtime.build(settings)
            register_areas()
            load_catalogs()
            # the time spent building e-mails, inside deliver()
            building = [0.0]
            original_build = delivery.build_email

            def timed_build(*a, **kw):  # type: ignore[no-untyped-def]
                t0 = time.thread_time()
                try:
                    return original_build(*a, **kw)
                finally:
                    building[0] += time.thread_time() - t0

            delivery.build_email = timed_build  # type: ignore[assignment]
            try:
                print(load_line())
                for label, n in (("warm-up", 100), ("measured", args.bookings)):
                    accounts = await make_couple_accounts(dsn, keys["BOOKING_SECRET_KEY"], n)
                    await book_serially(rt, accounts, slots, f"{label}: booked")
                    async with rt.db.raw() as conn:
                        due = [(r["id"], r["channel"]) for r in await conn.fetch(
                            "SELECT id, channel FROM notification WHERE state = 'pending' ORDER BY created_at")]
                    building[0] = 0.0
                    before = await pg_snapshot(dsn)
                    py_before = time.thread_time()
                    started = time.perf_counter()
                    profiler = cProfile.Profile() if args.profile and label == "measured" else None
                    if profiler:
                        profiler.enable()
                    outcomes: Counter[str] = Counter()
                    for notification_id, _channel in due:
                        outcomes[await delivery.deliver(rt, notification_id)] += 1
                    if profiler:
                        profiler.disable()
                    elapsed = time.perf_counter() - started
                    py = time.thread_time() - py_before
                    after = await pg_snapshot(dsn)
                    pg = sum(c - before.cpu.get(pid, 0.0) for pid, c in after.cpu.items())
                    m = len(due)
                    emails = sum(1 for _, c in due if c == "email")
                    print(f"{label}: {m} messages ({emails} e-mails), {dict(outcomes)}, {m / elapsed:.0f} messages/s "
                          f"serial; per message: delivering thread CPU {py / m * 1000:.2f} ms, PostgreSQL backend CPU "
                          f"{pg / m * 1000:.2f} ms; building an e-mail {building[0] / max(1, emails) * 1000:.2f} ms")
                    if profiler:
                        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
                await asyncio.sleep(0.5)
                print(f"at the SMTP server: {sum(sink.received.values())} messages, "
                      f"{sum(1 for v in sink.received.values() if v > 1)} received twice")
                print(load_line())
            finally:
                delivery.build_email = original_build  # type: ignore[assignment]
                await rt.close()
                await rt.db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--profile", action="store_true")
    asyncio.run(main(parser.parse_args()))
