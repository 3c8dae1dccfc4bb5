"""The ballots area's periodic jobs: due ballots are drawn; waitlists lapse when the day's booking closes. Each is a plain ``async def job(rt)``;
``booking.background.jobs`` runs every area's list (the worker's cron, or in-process)."""

from __future__ import annotations

from booking.ballots.draw import draw_due, lapse_waitlists

JOBS = [draw_due, lapse_waitlists]
