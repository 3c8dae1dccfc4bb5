"""The schema comes from the Alembic migrations (run on an empty database by the
``pg_database`` fixture), and the migrations match the models."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.command import downgrade
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import booking.db.models  # noqa: F401
from booking.migrations import alembic_config, upgrade


def test_migrated_to_a_single_head(pg_database):
    heads = ScriptDirectory.from_config(alembic_config(pg_database)).get_heads()
    assert len(heads) == 1, "the migrations must not branch"

    async def current() -> str:
        conn = await asyncpg.connect(pg_database.replace("+asyncpg", ""))
        try:
            return await conn.fetchval("SELECT version_num FROM alembic_version")
        finally:
            await conn.close()

    assert asyncio.run(current()) == heads[0]


def test_models_and_migrations_agree(pg_database):
    async def differences() -> list:
        engine = create_async_engine(pg_database)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), SQLModel.metadata))
        finally:
            await engine.dispose()

    assert asyncio.run(differences()) == [], "a model changed without an Alembic revision"


def test_what_autogenerate_cannot_see_is_there(pg_database):
    """Alembic's comparison ignores index predicates and functions: check them directly
    (the one-active-booking rule depends on its WHERE, the booking write on booking_fail)."""

    async def read() -> tuple[dict[str, str], bool]:
        conn = await asyncpg.connect(pg_database.replace("+asyncpg", ""))
        try:
            indexes = {r["indexname"]: r["indexdef"] for r in await conn.fetch(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")}
            function = await conn.fetchval("SELECT count(*) FROM pg_proc WHERE proname = 'booking_fail'")
            return indexes, bool(function)
        finally:
            await conn.close()

    indexes, has_function = asyncio.run(read())
    assert has_function
    assert "UNIQUE" in indexes["uq_appointment_party_active"]
    assert indexes["uq_appointment_party_active"].endswith("WHERE active")
    assert "WHERE ((state)::text = 'pending'::text)" in indexes["ix_notification_next"]
    assert "WHERE ((status)::text = 'confirmed'::text)" in indexes["ix_appointment_unchecked"]
    partial_uniques = [name for name, definition in indexes.items() if "UNIQUE" in definition and "WHERE" in definition]
    assert len(partial_uniques) >= 2, partial_uniques  # appointments and event sign-ups


LIFECYCLE_BEFORE = "9d3e51c7a2b4"  # the revision before the appointment lifecycle's
LEGACY_DATA = """
INSERT INTO office (id, code, name_zh, name_en, province_code, city, address_zh, address_en, timezone, services,
                    rules, is_active, created_at, updated_at)
VALUES (1, 'OLD', '旧处', E'Old\\r\\nRegistry', '44', '广州', '地址', '', 'Asia/Shanghai', '["marriage_registration"]',
        '{"release_time": "08:30:00+08:00", "cutoff_time": "15:00:00", "booking_window_days": 15}', true, now(), now());
INSERT INTO office_day (id, office_id, day, kind, note) VALUES
    (1, 1, '2026-10-13', 'closure', ''), (2, 1, '2026-10-17', 'special_opening', '');
INSERT INTO slot (id, office_id, service, local_date, starts_at, ends_at, capacity, booked, status, created_at) VALUES
    (1, 1, 'marriage_registration', '2026-10-13', '2026-10-13T01:00Z', '2026-10-13T02:00Z', 5, 0, 'day_closed', now()),
    (2, 1, 'marriage_registration', '2026-10-18', '2026-10-18T01:00Z', '2026-10-18T02:00Z', 5, 0, 'day_closed', now()),
    (3, 1, 'marriage_registration', '2026-10-14', '2026-10-14T01:00Z', '2026-10-14T02:00Z', 5, 0, 'closed', now()),
    (4, 1, 'marriage_registration', '2026-10-15', '2026-10-15T01:00Z', '2026-10-15T02:00Z', 5, 3, 'open', now()),
    (5, 1, 'marriage_registration', '2026-10-17', '2026-10-17T01:00Z', '2026-10-17T02:00Z', 5, 0, 'open', now());
INSERT INTO user_account (id, email, password_hash, name, locale, role, is_active, failed_logins, created_at)
VALUES ('00000000-0000-0000-0000-000000000001', 'a@example.com', 'x', E'张\\r\\nBcc: x@example.com', 'en', 'couple',
        true, 0, now());
INSERT INTO appointment (id, code, office_id, slot_id, service, booked_by, channel, status, starts_at, ends_at,
                         locale, sequence, created_at, updated_at)
SELECT gen_random_uuid(), left(md5(s), 8), 1, 4, 'marriage_registration', gen_random_uuid(), 'online', s,
       '2026-10-15T01:00Z', '2026-10-15T02:00Z', 'en', 0, now(), now()
FROM unnest(ARRAY['confirmed', 'completed', 'no_show']) AS s;
"""


async def _run(url: str, sql: str | None = None, fetch: str | None = None) -> Any:
    """``sql`` on the database at ``url``, if given, then the rows of ``fetch``, if given."""
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        if sql:
            await conn.execute(sql)
        return await conn.fetch(fetch) if fetch else None
    finally:
        await conn.close()


def test_the_lifecycle_revision_carries_what_was_there():
    """Upgraded with data in it: who closed each slot, the seats of ended appointments given
    back, rule times made local, names made one line."""
    from tests.conftest import scratch_database

    with scratch_database(LIFECYCLE_BEFORE, prefix="booking_migrate") as url:
        asyncio.run(_run(url, LEGACY_DATA))
        upgrade(url, "head")
        slots = asyncio.run(_run(url, fetch="SELECT id, status, closed_reason, office_day_id, booked "
                                            "FROM slot ORDER BY id"))
        office = asyncio.run(_run(url, fetch="SELECT name_en, rules FROM office"))[0]
        account = asyncio.run(_run(url, fetch="SELECT name FROM user_account"))[0]
        downgrade(alembic_config(url), LIFECYCLE_BEFORE)  # and back, for an operator's rollback
        before = asyncio.run(_run(url, fetch="SELECT status FROM slot ORDER BY id"))
    assert [tuple(r) for r in slots] == [
        (1, "closed", "closure", None, 0), (2, "closed", "opening_removed", None, 0), (3, "closed", "clerk", None, 0),
        (4, "open", None, None, 1), (5, "open", None, 2, 0)]
    rules = json.loads(office["rules"])
    assert (rules["release_time"], rules["cutoff_time"]) == ("08:30:00", "15:00:00")
    assert office["name_en"] == "Old  Registry" and account["name"] == "张  Bcc: x@example.com"
    assert [r["status"] for r in before] == ["day_closed", "day_closed", "closed", "open", "open"]


def test_the_office_key_revision_stops_on_an_appointment_of_another_office():
    """An appointment must name its slot's office once an appointment references (slot,
    office): the revision stops with a message instead of a bare violation, and goes
    through once the row is corrected."""
    from tests.conftest import scratch_database

    other_office = """
INSERT INTO office (id, code, name_zh, name_en, province_code, city, address_zh, address_en, timezone, services,
                    rules, is_active, created_at, updated_at)
VALUES (2, 'OTHER', '别处', 'Other Registry', '44', '广州', '地址', '', 'Asia/Shanghai', '["marriage_registration"]',
        '{"release_time": "08:30:00+08:00", "cutoff_time": "15:00:00", "booking_window_days": 15}', true, now(), now());
UPDATE appointment SET office_id = 2 WHERE status = 'confirmed';
"""
    with scratch_database(LIFECYCLE_BEFORE, prefix="booking_migrate") as url:
        asyncio.run(_run(url, LEGACY_DATA + other_office))
        with pytest.raises(RuntimeError, match="another office than their slot's"):
            upgrade(url, "head")
        asyncio.run(_run(url, "UPDATE appointment SET office_id = 1"))
        upgrade(url, "head")
        keys = asyncio.run(_run(url, fetch="SELECT conname FROM pg_constraint "
                                           "WHERE conrelid = 'appointment'::regclass AND contype = 'f' ORDER BY 1"))
    assert [r["conname"] for r in keys] == ["appointment_account_id_fkey", "fk_appointment_slot_office"]
