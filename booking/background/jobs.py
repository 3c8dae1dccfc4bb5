"""The background jobs of every area (each area lists its own in ``<area>/jobs.py``).

``PERIODIC_JOBS`` run as arq cron jobs in ``booking worker``, or in-process in
``booking serve`` when no Redis is configured. ``WORKER_FUNCTIONS`` are enqueued by name
with ids as their only arguments.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from booking.applications import jobs as application_jobs
from booking.appointments import jobs as appointment_jobs
from booking.ballots import jobs as ballot_jobs
from booking.divorce import jobs as divorce_jobs
from booking.notifications import jobs as notification_jobs
from booking.notifications.delivery import deliver
from booking.ops import jobs as ops_jobs
from booking.runtime import Runtime

PeriodicJob = Callable[[Runtime], Awaitable[object]]


def periodic_jobs() -> list[PeriodicJob]:
    # each area's ``jobs.py``, in this order: no-shows, hold expiry, draws (and a divorce's
    # unconfirmed visits, its ended windows) before the outbox sweep, so their notices go
    # out in the same round; retention last
    return [*appointment_jobs.JOBS, *application_jobs.JOBS, *ballot_jobs.JOBS, *divorce_jobs.JOBS,
            *notification_jobs.JOBS, *ops_jobs.JOBS]


async def deliver_notification(ctx: dict[str, Any], notification_id: str) -> str:
    return await deliver(ctx["runtime"], uuid.UUID(notification_id))


PERIODIC_JOBS: list[PeriodicJob] = periodic_jobs()
WORKER_FUNCTIONS: list[Callable[..., Awaitable[object]]] = [deliver_notification]
