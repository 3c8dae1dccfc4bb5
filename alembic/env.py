"""Alembic environment: async, reads the database URL from the booking settings."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_engine_from_config
from sqlmodel import SQLModel

import booking.db.models  # noqa: F401  (registers every table on the metadata)
from booking.db.types import DateTimeUTC
from booking.settings import Settings

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    # An explicit URL (tests, `booking migrate --url`) wins over the environment.
    return config.attributes.get("database_url") or Settings().database_url


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render our own and SQLModel's column types as plain SQLAlchemy types, so that the
    revision files import nothing from the application."""
    if type_ == "type":
        if isinstance(obj, DateTimeUTC):
            return "sa.DateTime(timezone=True)"
        if obj.__class__.__module__.startswith("sqlmodel"):
            length = getattr(obj, "length", None)
            return f"sa.String(length={length})" if length else "sa.String()"
    return False


def _configure(connection: Connection | None = None, **kw: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_item=render_item,
        render_as_batch=True,  # SQLite needs batch mode for ALTERs
        connection=connection,
        **kw,
    )


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


MIGRATION_LOCK = 7_215_042_601  # pg_advisory_lock key: one `booking migrate` at a time


def _run_sync(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        context.run_migrations()


async def run_migrations_online() -> None:
    url = _url()
    if url.startswith("postgresql"):
        # connect as the service does: every option of the URL (sslmode, sslrootcert, host=...)
        from booking.db.engine import postgres_engine

        engine = postgres_engine(url, application_name="booking-migrate", poolclass=pool.NullPool)
    else:
        section = config.get_section(config.config_ini_section, {})
        section["sqlalchemy.url"] = url
        engine = async_engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run_sync)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_sync(connection)
    else:
        asyncio.run(run_migrations_online())
