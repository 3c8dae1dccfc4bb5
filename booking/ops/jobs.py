"""The ops area's periodic jobs: retention: old records and personal data removed. Each is a plain ``async def job(rt)``;
``booking.background.jobs`` runs every area's list (the worker's cron, or in-process)."""

from __future__ import annotations

from booking.ops.retention import purge_expired

JOBS = [purge_expired]
