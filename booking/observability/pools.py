"""How full the database pools are: SQLAlchemy's pool (ORM and Core) and the hot paths'
asyncpg pool. Sampled every few seconds by each process, not on every checkout, so the hot
paths pay nothing for it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from booking.observability.metrics import DB_POOL_CONNECTIONS, DB_POOL_LIMIT

logger = logging.getLogger("booking.metrics")

SAMPLE_SECONDS = 5.0


def _set(pool: str, open_: int, in_use: int, limit: int) -> None:
    DB_POOL_CONNECTIONS.labels(pool, "open").set(open_)
    DB_POOL_CONNECTIONS.labels(pool, "in_use").set(in_use)
    DB_POOL_LIMIT.labels(pool).set(limit)


def sample_pools(db: Any) -> None:
    pool = db.engine.pool
    if hasattr(pool, "checkedout"):  # a QueuePool: PostgreSQL (and SQLite files)
        in_use, idle = pool.checkedout(), pool.checkedin()
        _set("sqlalchemy", in_use + idle, in_use, pool.size() + max(0, getattr(pool, "_max_overflow", 0)))
    fast = db.fast_pool
    if fast is not None:
        size = fast.get_size()
        _set("asyncpg", size, size - fast.get_idle_size(), fast.get_max_size())


@contextlib.asynccontextmanager
async def pool_sampler(db: Any, every: float = SAMPLE_SECONDS) -> AsyncIterator[None]:
    """Keep this process's pool figures current while the block runs."""

    async def _loop() -> None:
        while True:
            try:
                sample_pools(db)
            except Exception:  # noqa: BLE001 - a metric must never take the process down
                logger.exception("sampling the database pools failed")
            await asyncio.sleep(every)

    task = asyncio.create_task(_loop(), name="booking-pool-sampler")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
