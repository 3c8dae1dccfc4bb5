"""What runs beside the API in the same process.

With Redis configured, the API only connects to it (queue, rate limits) and reads each
release's slots before its moment (``booking.slots.release``); the arq worker
process does the background work. Without Redis (the embedded default) the same jobs run
here, in-process.
"""

from __future__ import annotations

import asyncio
import logging

from booking.background.inprocess import run_in_process
from booking.background.queue import connect_redis
from booking.notifications.delivery import stop_deliveries
from booking.runtime import Runtime
from booking.slots.release import prefetch_releases

logger = logging.getLogger("booking.background")


async def start_background(runtime: Runtime) -> None:
    if runtime.settings.redis_url and runtime.redis is None:
        runtime.redis = await connect_redis(runtime.settings.redis_url, runtime.settings.queue_name)
    tasks = runtime.background_tasks
    if not runtime.settings.redis_url and runtime.run_in_process_jobs:
        tasks.append(asyncio.create_task(run_in_process(runtime), name="booking-in-process-jobs"))
    if runtime.run_in_process_jobs and runtime.settings.release_prefetch_seconds > 0:
        # with or without Redis: the slot facts are each API process's own cache
        tasks.append(asyncio.create_task(prefetch_releases(runtime), name="booking-release-prefetch"))


async def stop_background(runtime: Runtime) -> None:
    tasks = runtime.background_tasks
    if tasks:  # in-process delivery: what is on the wire is finished and marked first
        await stop_deliveries(runtime, runtime.settings.worker_stop_grace_seconds)
    for task in tasks:
        task.cancel()
    for task in tasks:
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception:  # noqa: BLE001
            logger.exception("background task failed while stopping")
    tasks.clear()
