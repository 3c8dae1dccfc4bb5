"""The no-show ban, "N no-shows within W days => banned for B days from the last of them",
is written twice (``booking.appointments.services.noshow``): in SQL for PostgreSQL (the
single-statement booking write and the refusal's explanation) and in Python for SQLite. A
table of cases, and a property holding the two to each other on PostgreSQL: who is banned,
and until when."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking.appointments.services.noshow import ban_ends, banned_sql
from booking.offices.rules import NoShowPolicy

NOW = datetime(2026, 10, 14, 2, 0, tzinfo=UTC)
DEFAULT = NoShowPolicy()  # 2 within 30 days => 15 days


def days_ago(*days: float) -> list[datetime]:
    return [NOW - timedelta(days=d) for d in days]


@pytest.mark.parametrize(("misses", "policy", "ends"), [
    (days_ago(30.5, 1.5), DEFAULT, NOW + timedelta(days=13.5)),  # 29 days apart: banned from the second
    (days_ago(31.5, 1), DEFAULT, None),  # 30.5 days apart: never banned
    (days_ago(1), DEFAULT, None),
    (days_ago(20, 16), DEFAULT, None),  # banned, and the 15 days are over
    (days_ago(20, 14), DEFAULT, NOW + timedelta(days=1)),
    (days_ago(100, 80, 3), DEFAULT, None),  # the old pair is over; the new miss is alone
    (days_ago(40, 12, 3), DEFAULT, NOW + timedelta(days=12)),  # the latest qualifying pair counts
    (days_ago(2), NoShowPolicy(limit=1, window_days=1, ban_days=7), NOW + timedelta(days=5)),
    (days_ago(50, 30, 10), NoShowPolicy(limit=3, window_days=30, ban_days=15), None),  # 40 days, 1st to 3rd
    (days_ago(25, 15, 2), NoShowPolicy(limit=3, window_days=30, ban_days=15), NOW + timedelta(days=13)),
])
def test_the_rule(misses, policy, ends):
    assert ban_ends(misses, policy, NOW) == ends


OFFICE_SQL = """
INSERT INTO office (code, name_zh, name_en, province_code, city, address_zh, address_en, timezone, services,
                    rules, is_active, created_at, updated_at)
VALUES ('RULE', '测试', 'Test', '44', '广州', '地址', '', 'Asia/Shanghai', '["marriage_registration"]', '{}', true,
        now(), now()) RETURNING id"""
SLOT_SQL = """
INSERT INTO slot (office_id, service, local_date, starts_at, ends_at, capacity, booked, status, created_at)
VALUES ($1, 'marriage_registration', '2026-09-14', '2026-09-14T01:00Z', '2026-09-14T02:00Z', 5, 0, 'open',
        now())
RETURNING id"""
MISS_SQL = """
WITH a AS (
    INSERT INTO appointment (id, code, office_id, slot_id, service, booked_by, channel, status, starts_at,
                             ends_at, locale, sequence, created_at, updated_at)
    VALUES ($1, $2, $3, $4, 'marriage_registration', $1, 'online', 'no_show', $5::timestamptz,
            $5::timestamptz + interval '1 hour', 'en', 0, now(), now()) RETURNING id)
INSERT INTO appointment_party (id, appointment_id, position, name, id_type, id_hash, id_enc, id_masked,
                               phone_enc, phone_hash, phone_masked, facts_enc, service, active)
SELECT $1, a.id, 1, 'x', 'resident_id', $6, 'x', 'x', 'x', 'x', 'x', 'x',
       'marriage_registration', false FROM a"""

policies = st.builds(NoShowPolicy, limit=st.integers(1, 4), window_days=st.integers(1, 40),
                     ban_days=st.integers(0, 30))
# no-shows up to 80 days back (and a few days ahead: a clock set back), in hours
misses = st.lists(st.integers(-3 * 24, 80 * 24), max_size=6)


@pytest.mark.asyncio
@settings(max_examples=60, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(policy=policies, hours_ago=misses)
async def test_the_sql_and_the_python_agree(runtime, policy, hours_ago):
    times = [NOW - timedelta(hours=h) for h in hours_ago]
    banned_now = banned_sql("$1::text[]", "$2::timestamptz", "$3::int", "$4::int", "$5::int")
    query = f"SELECT max(ends) FROM ({banned_now}) b"
    async with runtime.db.raw() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            office = await conn.fetchval(OFFICE_SQL)
            slot = await conn.fetchval(SLOT_SQL, office)
            for at in times:
                await conn.execute(MISS_SQL, uuid.uuid4(), uuid.uuid4().hex[:12], office, slot, at, "person")
            ends = await conn.fetchval(query, ["person"], NOW, policy.limit, policy.window_days,
                                         policy.ban_days)
        finally:
            await transaction.rollback()
    assert ends == ban_ends(times, policy, NOW)
