"""The one place that knows the job transport is arq on Redis (arq is in maintenance mode;
keeping it behind this module lets it be swapped). Job arguments are ids only."""

from __future__ import annotations

from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


async def connect_redis(url: str, queue_name: str = "booking:queue") -> ArqRedis:
    return await create_pool(redis_settings(url), default_queue_name=queue_name)


async def enqueue(redis: ArqRedis, function: str, *args: Any, job_id: str | None = None, **kw: Any) -> bool:
    """Enqueue by function name (the API does not import worker code) on the pool's queue.
    False when a job with the same id is already queued or running: the work is then
    already on its way."""
    job = await redis.enqueue_job(function, *args, _job_id=job_id, **kw)
    return job is not None
