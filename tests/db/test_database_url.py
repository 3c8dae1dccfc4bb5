"""Every connection honours the database URL's options (TLS, a socket directory), the hot
paths' own asyncpg pool as much as the engine's: against a PostgreSQL of the test's own,
with TLS on (a self-signed certificate) and a socket directory nobody else uses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from booking.db.engine import Database
from tests.conftest import make_settings
from tests.servers import OwnPostgres

pytestmark = pytest.mark.asyncio

SSL_NOW = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


@pytest.fixture(scope="module")
def tls_postgres() -> Iterator[OwnPostgres]:
    server = OwnPostgres(ssl=True)
    server.start()
    try:
        yield server
    finally:
        server.destroy()


async def _both(url: str, tmp_path: Path, sql: str) -> tuple[object, object]:
    """What ``sql`` answers on a hot-path connection and on an engine connection."""
    db = Database(make_settings(url, tmp_path))
    try:
        async with db.raw() as conn:
            hot = await conn.fetchval(sql)
        async with db.connect() as conn:
            engine = (await conn.execute(text(sql))).scalar()
        return hot, engine
    finally:
        await db.dispose()


async def test_tls_options_hold_for_every_connection(tls_postgres: OwnPostgres, tmp_path: Path):
    base = tls_postgres.url(driver="postgresql+asyncpg")
    verified = f"{base}?sslmode=verify-full&sslrootcert={tls_postgres.root_cert}"
    assert await _both(verified, tmp_path, SSL_NOW) == (True, True)
    assert await _both(f"{base}?ssl=require", tmp_path, SSL_NOW) == (True, True)  # SQLAlchemy's spelling
    assert await _both(f"{base}?sslmode=disable", tmp_path, SSL_NOW) == (False, False)


async def test_a_root_certificate_that_does_not_match_refuses_the_hot_pool(tls_postgres: OwnPostgres,
                                                                          tmp_path: Path):
    from tests.servers import self_signed_certificate

    other_dir = tmp_path / "other"
    other_dir.mkdir()
    cert, _key = self_signed_certificate(other_dir)
    url = f"{tls_postgres.url(driver='postgresql+asyncpg')}?sslmode=verify-full&sslrootcert={cert}"
    db = Database(make_settings(url, tmp_path))
    try:
        with pytest.raises(Exception) as refused:
            async with db.raw() as conn:
                await conn.fetchval("SELECT 1")
        assert "certif" in str(refused.value).lower() or "ssl" in type(refused.value).__name__.lower()
    finally:
        await db.dispose()


async def test_a_socket_directory_as_host(tls_postgres: OwnPostgres, tmp_path: Path):
    url = f"postgresql+asyncpg://postgres@/postgres?host={tls_postgres.socket_dir}&port={tls_postgres.port}"
    hot, engine = await _both(url, tmp_path, "SELECT current_setting('port') || ':' || "
                                             "coalesce(host(inet_client_addr()), 'socket')")
    assert hot == engine == f"{tls_postgres.port}:socket"
