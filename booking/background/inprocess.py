"""The embedded default's background loop: with no Redis, periodic jobs run inside
``booking serve``. The worker's cron functions are called directly, so both paths share
one implementation."""

from __future__ import annotations

import asyncio
import logging

from booking.background.jobs import PERIODIC_JOBS
from booking.runtime import Runtime

logger = logging.getLogger("booking.inprocess")


async def run_in_process(runtime: Runtime) -> None:
    interval = runtime.settings.outbox_poll_seconds
    while True:
        for job in PERIODIC_JOBS:
            try:
                await job(runtime)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one failing sweep must not stop the others
                logger.exception("in-process job failed", extra={"job": job.__name__})
        await asyncio.sleep(interval)
