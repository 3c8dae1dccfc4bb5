"""The schema comes from the Alembic migrations (run on an empty database by the
``pg_database`` fixture), and the migrations match the models."""

from __future__ import annotations

import asyncio

import asyncpg
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import booking.db.models  # noqa: F401
from booking.migrations import alembic_config


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
