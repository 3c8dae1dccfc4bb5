"""The hot statements' per-person lookups stay index lookups in a generic plan made while
the tables are small and not analyzed (as each hot connection caches one at its first
executions): pulled up into joins, they had become scans of every party, whose cost grew
with the table for as long as the connection lived."""

from __future__ import annotations

import pytest

from booking.appointments.services.noshow import banned_sql
from booking.events.store import _COUPLE_RECORD

pytestmark = pytest.mark.asyncio

BANNED = f"SELECT * FROM ({banned_sql('$1::text[]', '$2::timestamptz', '$3::int', '$4::int', '$5::int')}) b"


async def _generic_plan(runtime, sql: str, types: str, arguments: str) -> str:
    async with runtime.db.raw() as conn:
        async with conn.transaction():
            await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            await conn.execute(f"PREPARE plan_probe ({types}) AS {sql}")
            try:
                rows = await conn.fetch(f"EXPLAIN EXECUTE plan_probe ({arguments})")
            finally:
                await conn.execute("DEALLOCATE plan_probe")
    return "\n".join(r[0] for r in rows)


@pytest.mark.parametrize(("sql", "types", "arguments"), [
    (BANNED, "text[], timestamptz, int, int, int", "ARRAY['a', 'b'], now(), 2, 30, 15"),
    (_COUPLE_RECORD, "text[]", "ARRAY['a', 'b']"),
], ids=["no-show rule", "couple record"])
async def test_person_lookups_stay_index_lookups(runtime, sql, types, arguments):
    plan = await _generic_plan(runtime, sql, types, arguments)
    assert "appointment_party" in plan and "Seq Scan on appointment_party" not in plan, plan
    assert "Seq Scan on appointment " not in plan and "Seq Scan on appointment\n" not in plan, plan
