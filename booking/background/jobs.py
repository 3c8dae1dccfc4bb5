"""The background jobs of every area, as plain async functions of the runtime.

``PERIODIC_JOBS`` run as arq cron jobs in ``booking worker``, or in-process in
``booking serve`` when no Redis is configured. ``WORKER_FUNCTIONS`` are enqueued by name
with ids as their only arguments.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from booking.applications.services import expire_holds
from booking.appointments.desk import sweep_no_shows
from booking.ballots.draw import draw_due, lapse_waitlists
from booking.divorce.ending import close_lapsed_windows, expire_unconfirmed
from booking.notifications.delivery import deliver, sweep
from booking.ops.retention import purge_expired
from booking.runtime import Runtime

PeriodicJob = Callable[[Runtime], Awaitable[object]]


def periodic_jobs() -> list[PeriodicJob]:
    # hold expiry, draws (and a divorce's unconfirmed visits, its ended windows) before the
    # outbox sweep: their notices then go out in the same round
    return [sweep_no_shows, expire_holds, draw_due, lapse_waitlists, expire_unconfirmed, close_lapsed_windows, sweep,
            purge_expired]


async def deliver_notification(ctx: dict[str, Any], notification_id: str) -> str:
    return await deliver(ctx["runtime"], uuid.UUID(notification_id))


PERIODIC_JOBS: list[PeriodicJob] = periodic_jobs()
WORKER_FUNCTIONS: list[Callable[..., Awaitable[object]]] = [deliver_notification]
