"""Reading the audit log (every area writes it with ``booking.kernel.audit.record``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import AuditEntry


async def list_entries(
    session: AsyncSession, *, office_id: int | None, action: str | None, limit: int, offset: int,
    actor_id: uuid.UUID | None = None, since: datetime | None = None, until: datetime | None = None,
) -> tuple[list[AuditEntry], int]:
    """Newest first. ``action`` is a dotted name or its start (``account`` finds
    ``account.deactivate`` and ``account.create``); ``since`` inclusive, ``until`` exclusive."""
    query = select(AuditEntry)
    if office_id is not None:
        query = query.where(AuditEntry.office_id == office_id)
    if action:
        escaped = action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(or_(AuditEntry.action == action,
                                AuditEntry.action.like(f"{escaped}.%", escape="\\")))  # type: ignore[attr-defined]
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = (
        await session.execute(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))  # type: ignore[union-attr]
    ).scalars().all()
    return list(rows), total
