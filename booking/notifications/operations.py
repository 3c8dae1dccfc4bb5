"""Operators' hand on the outbox: the rows in one state, and a failed row sent again."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.context import Context
from booking.db.models import Notification
from booking.errors import Conflict, NotFound
from booking.i18n import lazy
from booking.kernel.audit import record


class NotFailed(Conflict):
    code = "notification-not-failed"
    title = lazy("Only a notification that failed can be retried.")


async def rows_in_state(session: AsyncSession, state: str, limit: int) -> list[Notification]:
    """Oldest first. No addresses or phone numbers: recipients are resolved only when sent."""
    return list((await session.execute(select(Notification).where(Notification.state == state)
                                       .order_by(Notification.due_at).limit(limit))).scalars().all())


async def retry_failed(ctx: Context, notification_id: uuid.UUID) -> Notification:
    """A failed row goes back to the sweep with a fresh set of attempts (a compare-and-swap on
    its state: two operators retrying at once send it once). A reminder whose moment has
    passed meanwhile is dropped by the sweep, not sent late. Audited."""
    session, actor, now = ctx.session, ctx.caller, ctx.now
    done = (await session.execute(
        update(Notification).where(Notification.id == notification_id, Notification.state == "failed")
        .values(state="pending", attempts=0, next_attempt_at=now, leased_until=None)
        .returning(Notification.id))).first()
    if done is None:
        state = (await session.execute(select(Notification.state).where(
            Notification.id == notification_id))).scalar_one_or_none()
        await session.rollback()
        if state is None:
            raise NotFound()
        raise NotFailed(state=state)
    record(session, actor, "notification.retry", target_type="notification", target_id=notification_id,
           office_id=None, at=now)
    await session.commit()
    return (await session.execute(select(Notification).where(Notification.id == notification_id)
                                  .execution_options(populate_existing=True))).scalar_one()
