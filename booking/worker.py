"""The arq worker (``booking worker``): periodic sweeps and delivery jobs.

Jobs reach the same services as requests, through a ``Runtime`` built in ``on_startup``.
arq's per-job ``ctx`` is a copy, so nothing is stored in it from a job.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

from arq import cron
from arq.worker import Worker

from booking.observability.worker import timed, worker_observability
from booking.queue import redis_settings
from booking.runtime import Runtime
from booking.settings import Settings

logger = logging.getLogger("booking.worker")

HEARTBEAT_PREFIX = "booking:worker:heartbeat:"
HEARTBEAT_TTL_SECONDS = 60


def heartbeat_key() -> str:
    """One key per worker process (a probe can check its own; /ready counts them all)."""
    return f"{HEARTBEAT_PREFIX}{socket.gethostname()}:{os.getpid()}"


async def heartbeat(ctx: dict[str, Any]) -> None:
    await ctx["redis"].set(heartbeat_key(), str(int(time.time())), ex=HEARTBEAT_TTL_SECONDS)


async def live_workers(redis: Any) -> int:
    return len([key async for key in redis.scan_iter(match=f"{HEARTBEAT_PREFIX}*", count=100)])


async def run_periodic_jobs(ctx: dict[str, Any]) -> None:
    from booking.jobs import PERIODIC_JOBS

    runtime: Runtime = ctx["runtime"]
    for job in PERIODIC_JOBS:
        try:
            await job(runtime)
        except Exception:  # noqa: BLE001 - one failing sweep must not stop the others
            logger.exception("periodic job failed", extra={"job": job.__name__})


def worker_settings(settings: Settings, runtime: Runtime | None = None) -> dict[str, Any]:
    async def on_startup(ctx: dict[str, Any]) -> None:
        from booking.wiring import wire

        rt = runtime or Runtime.build(settings)
        wire(rt)  # the same caches as the API's runtime
        if rt.redis is None:
            rt.redis = ctx["redis"]
        ctx["runtime"] = rt
        ctx["owns_runtime"] = runtime is None
        await _start_observability(ctx, rt)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        if "observability" in ctx:
            await ctx["observability"].aclose()
        rt: Runtime | None = ctx.get("runtime")
        if rt is not None and ctx.get("owns_runtime"):
            if rt.redis is ctx["redis"]:
                rt.redis = None  # arq closes its own pool
            await rt.close()

    from booking.jobs import WORKER_FUNCTIONS

    return {
        "functions": [timed(f) for f in WORKER_FUNCTIONS],
        "cron_jobs": [
            cron(timed(heartbeat), second={0, 15, 30, 45}, run_at_startup=True, timeout=10),
            cron(timed(run_periodic_jobs), second={0, 20, 40}, run_at_startup=True, timeout=55, unique=True),
        ],
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "redis_settings": redis_settings(settings.redis_url or ""),
        "queue_name": settings.queue_name,
        # short timeouts: a killed worker's job is retried after job_timeout + 10 s
        "job_timeout": settings.notification_job_timeout_seconds,
        # Retries are the outbox's business (state in PostgreSQL), not arq's; no result is
        # kept, so a job id is free again as soon as its job ends.
        "max_tries": 1,
        "keep_result": 0,
        "poll_delay": 0.05,
        "handle_signals": True,
    }


async def _start_observability(ctx: dict[str, Any], rt: Runtime) -> None:
    """The worker's /metrics endpoint and pool sampling (closed in on_shutdown); tracing
    when OTEL_* asks for it."""
    from contextlib import AsyncExitStack

    from booking.observability.tracing import setup_tracing

    setup_tracing("booking-worker")
    stack = ctx["observability"] = AsyncExitStack()
    await stack.enter_async_context(worker_observability(rt.settings, rt.db))


def build_worker(settings: Settings, runtime: Runtime | None = None, **overrides: Any) -> Worker:
    options = worker_settings(settings, runtime)
    options.update(overrides)
    return Worker(**options)


def run_worker(settings: Settings) -> None:
    worker = build_worker(settings)
    worker.run()


__all__ = ["build_worker", "run_worker", "worker_settings"]
