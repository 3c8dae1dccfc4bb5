"""The appointments area's periodic jobs: confirmed appointments whose time has passed with no one checked in become no-shows. Each is a plain ``async def job(rt)``;
``booking.background.jobs`` runs every area's list (the worker's cron, or in-process)."""

from __future__ import annotations

from booking.appointments.services.desk import sweep_no_shows

JOBS = [sweep_no_shows]
