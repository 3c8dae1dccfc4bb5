"""The divorce area's periodic jobs: unconfirmed visits lapse; a case whose certificate window ended is closed. Each is a plain ``async def job(rt)``;
``booking.background.jobs`` runs every area's list (the worker's cron, or in-process)."""

from __future__ import annotations

from booking.divorce.services.ending import close_lapsed_windows, expire_unconfirmed

JOBS = [expire_unconfirmed, close_lapsed_windows]
