"""Retention: what the service keeps only for a while.

- Idempotency records: a client retries within minutes; two days is generous.
- Delivered, dropped or cancelled outbox rows: kept 90 days for support questions
  ("did the reminder go out?"), then deleted. Failed rows stay until an operator looks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete

from booking.db.models import IdempotencyRecord, Notification
from booking.runtime import Runtime

IDEMPOTENCY_KEEP = timedelta(days=2)
OUTBOX_KEEP = timedelta(days=90)


@dataclass(slots=True)
class Purged:
    idempotency_records: int
    notifications: int


async def purge_expired(rt: Runtime) -> Purged:
    now = rt.clock.now()
    async with rt.db.session() as session:
        records = await session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - IDEMPOTENCY_KEEP))
        notifications = await session.execute(
            delete(Notification).where(Notification.state.in_(("sent", "dropped", "cancelled")),  # type: ignore[attr-defined]
                                       Notification.created_at < now - OUTBOX_KEEP))
        await session.commit()
    return Purged(records.rowcount or 0, notifications.rowcount or 0)  # type: ignore[attr-defined]
