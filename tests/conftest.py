"""Shared fixtures: a real PostgreSQL database migrated from empty, a real Redis, the app.

Each test run creates its own database (``booking_test_<random>``), runs the Alembic
migrations on it, and drops it at the end; nothing else on the server is touched. Between
tests every table is truncated, so tests may commit freely (the concurrency tests must).
Set ``BOOKING_TEST_PG`` / ``BOOKING_TEST_REDIS`` to point elsewhere.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from booking.app import create_app
from booking.clock import FixedClock
from booking.migrations import upgrade
from booking.runtime import Runtime
from booking.settings import Settings
from tests.factories import Actor, make_actor
from tests.helpers import SmtpSink
from tests.servers import OwnRedis

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("BOOKING_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BOOKING_TEST_REDIS", "redis://127.0.0.1:6379/15")

QUEUE_NAME = f"booking:test:{secrets.token_hex(4)}"

# 2026-09-10 10:00 in Shanghai: a Thursday before the National Day holidays.
DEFAULT_NOW = datetime(2026, 9, 10, 2, 0, tzinfo=UTC)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--browser", action="store_true", default=False,
                     help="run the browser tests (tests/browser) in Chromium; they run on their own: "
                     "sync Playwright in the same process breaks the async tests")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/browser only with --browser, and then nothing else."""
    browser_dir = ROOT / "tests" / "browser"
    inside = collection_path == browser_dir or browser_dir in collection_path.parents
    if config.getoption("--browser"):
        return None if inside or collection_path in (ROOT, ROOT / "tests") else True
    return True if inside else None


def _server_url(database: str) -> str:
    base = PG_ADMIN.rsplit("/", 1)[0]
    return f"{base}/{database}"


@contextmanager
def scratch_database(revision: str = "head", prefix: str = "booking_test") -> Iterator[str]:
    """A database of its own, migrated by Alembic to ``revision``, dropped afterwards; the
    asyncpg URL to it."""
    name = f"{prefix}_{secrets.token_hex(4)}"

    async def _admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = _server_url(name).replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        upgrade(url, revision)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """An empty database, migrated to head by Alembic; the asyncpg URL to it."""
    with scratch_database() as url:
        yield url


def make_settings(database_url: str, tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": database_url,
        "data_dir": tmp,
        "secret_key": "test-secret-" + "x" * 40,
        "data_key": base64.b64encode(b"k" * 32).decode(),
        "password_time_cost": 1,
        "password_memory_cost_kib": 1024,
        "availability_cache_seconds": 0,
        "office_cache_seconds": 0,
        "redis_url": None,
        # this run's own arq queue: another test run on the same Redis cannot take its jobs
        "queue_name": QUEUE_NAME,
        # small pools: two test workers, each with a test and a server runtime, stay far
        # below PostgreSQL's 100 connections
        "db_pool_size": 8,
        "db_max_overflow": 8,
        "db_fast_pool_size": 8,
        # in-process workers open no metrics port (tests that want one set it)
        "worker_metrics_port": 0,
        # request rate limits are off unless a test is about them (tests/security/test_rate_limits.py):
        # many tests book and sign up far faster than any couple could
        "rate_limits_enabled": False,
    }
    values.update(overrides)
    return Settings(**values)


TABLES_SQL = """
SELECT string_agg(format('%I', tablename), ', ')
FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'
"""
# Reference data the migrations insert (the jurisdiction policy periods): every test starts
# from it as a new database would, whatever an earlier test changed.
SEEDED_TABLES = ("jurisdiction_period", "jurisdiction_area")


@pytest.fixture(scope="session")
def seeded_rows(pg_database: str) -> dict[str, list[Any]]:
    async def _snapshot() -> dict[str, list[Any]]:
        conn = await asyncpg.connect(pg_database.replace("+asyncpg", ""))
        try:
            return {table: await conn.fetch(f"SELECT * FROM {table}") for table in SEEDED_TABLES}
        finally:
            await conn.close()

    return asyncio.run(_snapshot())


@pytest.fixture
async def clean_db(pg_database: str, seeded_rows: dict[str, list[Any]]) -> str:
    conn = await asyncpg.connect(pg_database.replace("+asyncpg", ""))
    try:
        tables = await conn.fetchval(TABLES_SQL)
        if tables:
            await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        for table, rows in seeded_rows.items():
            if rows:
                await conn.copy_records_to_table(table, records=[tuple(r.values()) for r in rows],
                                                 columns=list(rows[0].keys()))
        await conn.execute("SELECT setval(pg_get_serial_sequence('jurisdiction_period', 'id'), "
                           "(SELECT max(id) FROM jurisdiction_period))")
    finally:
        await conn.close()
    return pg_database


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    """A real SMTP server that keeps what it receives."""
    server = SmtpSink()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    """A redis-server of the test's own (its keyspace and command counts are the test's)."""
    server = OwnRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DEFAULT_NOW)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change settings for its tests."""
    return {}


@pytest.fixture
async def runtime(clean_db: str, tmp_path: Path, clock: FixedClock,
                  settings_overrides: dict[str, Any]) -> AsyncIterator[Runtime]:
    rt = Runtime.build(make_settings(clean_db, tmp_path, **settings_overrides), clock=clock)
    rt.run_in_process_jobs = False  # tests call the jobs themselves
    try:
        yield rt
    finally:
        await rt.close()


@asynccontextmanager
async def running(application: Litestar) -> AsyncIterator[Litestar]:
    """Run the app's lifespan in one task of its own: anyio's cancel scopes inside it must be
    entered and left by the same task, which pytest's fixture setup and teardown are not."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def _lifespan() -> None:
        async with application.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(_lifespan())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # start-up failed: raise its error
    try:
        yield application
    finally:
        stop.set()
        await task


@pytest.fixture
async def app(runtime: Runtime) -> AsyncIterator[Litestar]:
    async with running(create_app(runtime=runtime)) as application:
        yield application


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


# --- accounts and tokens -----------------------------------------------------------


@pytest.fixture
async def admin(runtime: Runtime) -> Actor:
    return await make_actor(runtime, "admin")


@pytest.fixture
async def couple(runtime: Runtime) -> Actor:
    return await make_actor(runtime, "couple")


# --- the embedded default: SQLite migrated by Alembic ------------------------------------


@pytest.fixture
async def sqlite_runtime(tmp_path: Path, clock: FixedClock) -> AsyncIterator[Runtime]:
    from booking.migrations import upgrade_async

    url = f"sqlite+aiosqlite:///{tmp_path / 'embedded.sqlite3'}"
    await upgrade_async(url)
    rt = Runtime.build(make_settings(url, tmp_path), clock=clock)
    rt.run_in_process_jobs = False
    yield rt
    await rt.close()


@pytest.fixture
async def sqlite_client(sqlite_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(runtime=sqlite_runtime)) as app:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            yield client


