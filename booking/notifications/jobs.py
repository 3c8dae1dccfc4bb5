"""The notifications area's periodic jobs: the outbox: due rows are handed on to delivery, late reminders dropped. Each is a plain ``async def job(rt)``;
``booking.background.jobs`` runs every area's list (the worker's cron, or in-process)."""

from __future__ import annotations

from booking.notifications.delivery import sweep

JOBS = [sweep]
