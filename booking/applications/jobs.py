"""The applications area's periodic jobs: a cross-province application's seat is given back when the office's review hold ends. Each is a plain ``async def job(rt)``;
``booking.background.jobs`` runs every area's list (the worker's cron, or in-process)."""

from __future__ import annotations

from booking.applications.services import expire_holds

JOBS = [expire_holds]
