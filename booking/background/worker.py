"""The arq worker (``booking worker``): periodic sweeps and delivery jobs.

Jobs reach the same services as requests, through a ``Runtime`` built in ``on_startup``.
arq's per-job ``ctx`` is a copy, so nothing is stored in it from a job.

A stop (SIGTERM at every rollout, SIGINT) is graceful: see ``BookingWorker``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import AsyncExitStack
from typing import Any

from arq import cron
from arq.worker import Worker

from booking.background.heartbeat import farewell, heartbeat
from booking.background.jobs import PERIODIC_JOBS, WORKER_FUNCTIONS
from booking.background.queue import redis_settings
from booking.background.wiring import register_areas
from booking.notifications.delivery import stop_deliveries
from booking.observability.tracing import setup_tracing
from booking.observability.worker import timed, worker_observability
from booking.runtime import Runtime
from booking.settings import Settings

logger = logging.getLogger("booking.worker")

async def run_periodic_jobs(ctx: dict[str, Any]) -> None:
    runtime: Runtime = ctx["runtime"]
    for job in PERIODIC_JOBS:
        try:
            await job(runtime)
        except Exception:  # noqa: BLE001 - one failing sweep must not stop the others
            logger.exception("periodic job failed", extra={"job": job.__name__})


def worker_settings(settings: Settings, runtime: Runtime | None = None) -> dict[str, Any]:
    async def on_startup(ctx: dict[str, Any]) -> None:
        rt = runtime or Runtime.build(settings)
        register_areas()  # what the API registers too
        if rt.redis is None:
            rt.redis = ctx["redis"]
        ctx["runtime"] = rt
        ctx["owns_runtime"] = runtime is None
        await _start_observability(ctx, rt)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        await farewell(ctx["redis"])  # /ready stops counting this worker now
        if "observability" in ctx:
            await ctx["observability"].aclose()
        rt: Runtime | None = ctx.get("runtime")
        if rt is not None and ctx.get("owns_runtime"):
            # a delivery outlives a cancelled job (it is shielded): end it before the pools
            await stop_deliveries(rt, settings.worker_stop_grace_seconds)
            if rt.redis is ctx["redis"]:
                rt.redis = None  # arq closes its own pool
            await rt.close()

    return {
        "functions": [timed(f) for f in WORKER_FUNCTIONS],
        "cron_jobs": [
            cron(timed(heartbeat), second={0, 15, 30, 45}, run_at_startup=True, timeout=10),
            # every 20 s, but off the minute: offices release their days on the minute
            # (08:30:00), and a sweep then would meet the rush in the database
            cron(timed(run_periodic_jobs), second={5, 25, 45}, run_at_startup=True, timeout=55, unique=True),
        ],
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "redis_settings": redis_settings(settings.redis_url or ""),
        "queue_name": settings.queue_name,
        # A delivery ends within its lease (job timeout + margin) by itself; arq's timeout
        # only stops waiting for it, it never cuts it (deliveries are shielded).
        "job_timeout": settings.notification_job_timeout_seconds + settings.notification_lease_margin_seconds,
        # the deliveries on the wire at once, plus room for the two cron jobs
        "max_jobs": settings.notification_concurrency + 2,
        # Retries are the outbox's business (state in PostgreSQL), not arq's: a job cut off
        # by a crash is never run again by arq; the sweep hands its row on once the lease
        # has run out. No result is kept, so a job id is free again when its job ends.
        "max_tries": 1,
        "keep_result": 0,
        "poll_delay": 0.05,
        # arq's handler cancels running jobs; ``run_worker`` installs BookingWorker's instead
        "handle_signals": False,
    }


async def _start_observability(ctx: dict[str, Any], rt: Runtime) -> None:
    """The worker's /metrics endpoint and pool sampling (closed in on_shutdown); tracing
    when OTEL_* asks for it."""
    setup_tracing("booking-worker")
    stack = ctx["observability"] = AsyncExitStack()
    await stack.enter_async_context(worker_observability(rt.settings, rt.db))


class BookingWorker(Worker):
    """arq's worker with a graceful stop: on SIGTERM (every rollout) or SIGINT it takes no
    new job, lets the deliveries on the wire finish and be marked (the ones not started go
    back to the sweep), then stops; all within ``worker_stop_grace_seconds``, which the
    deploy files' grace periods exceed.

    (arq's own handler cancels the running jobs: a delivery cut after the mail server had
    accepted its message, before its row was marked, was sent again by the next sweep.)"""

    def __init__(self, *args: Any, stop_grace_seconds: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stop_grace_seconds = stop_grace_seconds
        self.stopping: asyncio.Task[None] | None = None

    def install_stop_signals(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(sig, self.begin_stop, sig)

    def begin_stop(self, sig: signal.Signals) -> None:
        if self.stopping is not None:
            return  # already stopping; the deploy's own deadline is the hard one
        self.allow_pick_jobs = False
        runtime: Runtime | None = self.ctx.get("runtime")
        logger.info("stopping", extra={"signal": sig.name, "grace_seconds": self.stop_grace_seconds,
                                       "deliveries_on_the_wire": runtime.delivery_gate.in_flight if runtime else 0})
        self.stopping = self.loop.create_task(self._stop(runtime))

    async def _stop(self, runtime: Runtime | None) -> None:
        deadline = self.loop.time() + self.stop_grace_seconds
        if runtime is not None:
            await stop_deliveries(runtime, self.stop_grace_seconds)
        # the jobs around them (a delivery job handing its row back, a sweep) end quickly
        while running := [task for task in self.tasks.values() if not task.done()]:
            if self.loop.time() >= deadline:
                for task in running:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)
                break
            await asyncio.wait(running, timeout=deadline - self.loop.time())
        if self.main_task is not None:
            self.main_task.cancel()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        # arq starts a batch of job ids one by one as slots free up; once stopping, no more
        for job_id in job_ids:
            if not self.allow_pick_jobs:
                return
            await super().start_jobs([job_id])

    async def close(self) -> None:
        # jobs that ended (or were cut and awaited at the deadline) are not arq's to gather:
        # gathering a cancelled one would raise before on_shutdown closes the pools
        for job_id, task in list(self.tasks.items()):
            if task.done():
                del self.tasks[job_id]
        await super().close()


def build_worker(settings: Settings, runtime: Runtime | None = None, **overrides: Any) -> BookingWorker:
    options = worker_settings(settings, runtime)
    options.update(overrides)
    return BookingWorker(stop_grace_seconds=settings.worker_stop_grace_seconds, **options)


def run_worker(settings: Settings) -> None:
    lease = settings.notification_job_timeout_seconds + settings.notification_lease_margin_seconds
    if settings.worker_stop_grace_seconds < lease:
        logger.warning("BOOKING_WORKER_STOP_GRACE_SECONDS is shorter than a delivery (job timeout + lease "
                       "margin): a stop may cut deliveries, which are then sent again")
    worker = build_worker(settings)
    worker.install_stop_signals()
    worker.run()


__all__ = ["BookingWorker", "build_worker", "run_worker", "worker_settings"]
