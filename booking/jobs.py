"""Periodic jobs of every area, as plain async functions of the runtime.

The arq worker runs them as cron jobs; the embedded default runs them in-process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from booking.runtime import Runtime

PeriodicJob = Callable[[Runtime], Awaitable[object]]

def _periodic() -> list[PeriodicJob]:
    from booking.appointments.services import sweep_no_shows

    return [sweep_no_shows]


PERIODIC_JOBS: list[PeriodicJob] = _periodic()

# Functions the worker runs on demand (enqueued by name with ids as arguments).
WORKER_FUNCTIONS: list[Callable[..., Awaitable[object]]] = []
