"""What a foreign key to one shared parent row costs concurrent bookings: the raw primitive
(the conditional UPDATE of a slot and the INSERT of a booking in one transaction, plain
asyncpg), once with the booking's ``office_id`` referencing an office and once without,
interleaved, at ``--connections`` concurrent transactions.

Why: an appointment references its office, and every booking of an office inserts a row
referencing the same office row. PostgreSQL checks the reference by taking a FOR KEY SHARE
lock on that row; two transactions holding it at once turn its lock into a MultiXact, and
every further booking in flight rewrites it (a new MultiXact with all current members, the
office tuple's xmax updated, WAL for both), one at a time. The slot row does not have this
cost: the booking already holds it (the seat's UPDATE), so its reference check takes no new
lock. Prints transactions/s and PostgreSQL backend CPU per transaction for both tables.
Run by hand:

    .venv/bin/python bench/parent_lock.py [--transactions 6000] [--connections 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio

import asyncpg
from common import bench_database, concurrently, load_line, pg_snapshot, primitive_step


async def _round(dsn: str, referenced: bool, transactions: int, connections: int) -> None:
    conn = await asyncpg.connect(dsn)
    await conn.execute("""
        DROP TABLE IF EXISTS lock_booking, lock_slot, lock_office;
        CREATE TABLE lock_office (id int PRIMARY KEY, name text NOT NULL);
        INSERT INTO lock_office VALUES (1, 'the office');
        CREATE TABLE lock_slot (id bigint PRIMARY KEY, office_id int NOT NULL REFERENCES lock_office,
                                capacity int NOT NULL, booked int NOT NULL DEFAULT 0);
        INSERT INTO lock_slot SELECT g, 1, 1000000 FROM generate_series(1, 1000) g;
    """)
    reference = "REFERENCES lock_office" if referenced else ""
    # the primitive's INSERT names no office: every booking is the one office's (DEFAULT 1)
    await conn.execute(f"CREATE TABLE lock_booking (id uuid PRIMARY KEY, slot_id bigint NOT NULL REFERENCES lock_slot,"
                       f" office_id int NOT NULL DEFAULT 1 {reference})")
    await conn.close()
    pool = await asyncpg.create_pool(dsn, min_size=connections, max_size=connections)
    before = await pg_snapshot(dsn)
    elapsed = await concurrently(pool, transactions, primitive_step("lock", 1000))
    after = await pg_snapshot(dsn)
    await pool.close()
    cpu = sum(c - before.cpu.get(pid, 0.0) for pid, c in after.cpu.items())
    label = "office_id references the office" if referenced else "office_id without a reference"
    print(f"{label}: {transactions / elapsed:.0f} tx/s; PostgreSQL backend CPU "
          f"{cpu / transactions * 1e6:.0f} µs per transaction")


async def main(args: argparse.Namespace) -> None:
    async with bench_database() as (dsn, _):
        print(f"{args.connections} connections, {args.transactions} transactions a round, one office")
        print(load_line())
        for _ in range(args.rounds):  # interleaved: a drift of the machine shows as a drift
            for referenced in (True, False):
                await _round(dsn, referenced, args.transactions, args.connections)
        print(load_line())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=6000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
