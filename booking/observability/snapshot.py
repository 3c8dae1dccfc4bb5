"""Figures read from the database (and Redis) when Prometheus scrapes the API, reused for
``BOOKING_METRICS_SNAPSHOT_SECONDS`` so that many scrapes cost one read:

- the outbox: rows due and not sent (the backlog), the age of the oldest of them, and
  failed rows. Each read walks a partial index (pending rows, failed rows), never the
  sent history.
- seats left per office and service, in the slots a couple can book right now (released,
  before the cut-off, not started): what the 08:30 rush eats. Offices are few.
- worker heartbeats in Redis (when configured): the workers alive.

Every API process reports the same figures: aggregate them with ``max``, not ``sum``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import and_, func, select

from booking.background.heartbeat import live_workers
from booking.db.models import Notification, Office, Slot
from booking.kernel.ttl import MISSING
from booking.notifications.delivery import BACKOFF_MAX_SECONDS
from booking.offices.directory import office_info

logger = logging.getLogger("booking.metrics")

CACHE_KEY = "metrics_snapshot"
# A pending row that is due has its next attempt at most this far ahead (a retry's backoff,
# an SMS held to the next clock hour, the sweep's re-enqueue), so the backlog read can stay
# on the pending index's near end instead of walking every future reminder.
LONGEST_PUSH = timedelta(seconds=max(BACKOFF_MAX_SECONDS, 3600) + 600)


@dataclass(slots=True)
class Snapshot:
    ok: bool
    outbox_due: int = 0
    outbox_failed: int = 0
    oldest_due_age_seconds: float = 0.0
    seats_left: list[tuple[str, str, int]] = field(default_factory=list)  # (office code, service, seats)
    workers: int | None = None  # None: no Redis, so no worker to count


async def current_snapshot(rt: Any) -> Snapshot:
    cached = rt.metrics_snapshot.get(CACHE_KEY)
    if cached is not MISSING:
        return cached  # type: ignore[no-any-return]
    try:
        snapshot = await read_snapshot(rt)
    except Exception as exc:  # noqa: BLE001 - the scrape still answers, with the process metrics
        logger.warning("metrics snapshot failed: %s", type(exc).__name__)
        snapshot = Snapshot(ok=False)
    return rt.metrics_snapshot.put(CACHE_KEY, snapshot)  # type: ignore[no-any-return]


async def read_snapshot(rt: Any) -> Snapshot:
    now = rt.clock.now()
    async with rt.db.session() as session:
        due, oldest = (await session.execute(
            select(func.count(), func.min(Notification.due_at)).where(
                Notification.state == "pending", Notification.next_attempt_at <= now + LONGEST_PUSH,
                Notification.due_at <= now))).one()
        failed = (await session.execute(
            select(func.count()).select_from(Notification).where(Notification.state == "failed"))).scalar_one()
        seats = await _seats_left(session, now)
    workers = None
    if rt.settings.redis_url and rt.redis is not None:
        workers = await live_workers(rt.redis)
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return Snapshot(ok=True, outbox_due=due, outbox_failed=failed, oldest_due_age_seconds=age, seats_left=seats,
                    workers=workers)


async def _seats_left(session: Any, now: datetime) -> list[tuple[str, str, int]]:
    offices = [office_info(o) for o in (await session.execute(select(Office).where(Office.is_active))).scalars()]
    if not offices:
        return []
    windows = {}
    for office in offices:
        local = now.astimezone(office.tz)
        windows[office.id] = (office.rules.first_bookable_date(local), office.rules.last_released_date(local))
    rows = await session.execute(
        select(Slot.office_id, Slot.service, Slot.local_date, func.sum(Slot.capacity - Slot.booked))
        .where(Slot.office_id.in_(list(windows)), Slot.status == "open", Slot.starts_at > now,  # type: ignore[attr-defined]
               and_(Slot.local_date >= min(w[0] for w in windows.values()),
                    Slot.local_date <= max(w[1] for w in windows.values())))
        .group_by(Slot.office_id, Slot.service, Slot.local_date))
    left: dict[tuple[int, str], int] = {(o.id, s): 0 for o in offices for s in o.services}
    for office_id, service, day, seats in rows:
        first, last = windows[office_id]
        if first <= day <= last and (office_id, service) in left:
            left[(office_id, service)] += int(seats or 0)
    codes = {o.id: o.code for o in offices}
    return [(codes[office_id], service, seats) for (office_id, service), seats in sorted(left.items())]


class SnapshotCollector:
    """Hands one snapshot to the exposition (a collector of one scrape)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[GaugeMetricFamily]:
        s = self.snapshot
        yield GaugeMetricFamily("booking_snapshot_ok", "1 when the scrape-time database read succeeded",
                                value=1 if s.ok else 0)
        if not s.ok:
            return
        rows = GaugeMetricFamily("booking_outbox_rows", "Outbox rows: due = pending and due (the backlog), "
                                 "failed = no attempts left", labels=["state"])
        rows.add_metric(["due"], s.outbox_due)
        rows.add_metric(["failed"], s.outbox_failed)
        yield rows
        yield GaugeMetricFamily("booking_outbox_oldest_due_age_seconds",
                                "How long the oldest due, unsent outbox row has waited (0: none)",
                                value=s.oldest_due_age_seconds)
        seats = GaugeMetricFamily("booking_seats_left", "Seats left in the slots bookable now, per office and "
                                  "service", labels=["office", "service"])
        for office, service, left in s.seats_left:
            seats.add_metric([office, service], left)
        yield seats
        if s.workers is not None:
            yield GaugeMetricFamily("booking_worker_heartbeats", "Workers whose heartbeat is in Redis (alive)",
                                    value=s.workers)
