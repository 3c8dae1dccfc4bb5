"""Reading the audit log (every area writes it with ``booking.kernel.audit.record``)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import AuditEntry


async def list_entries(
    session: AsyncSession, *, office_id: int | None, action: str | None, limit: int, offset: int
) -> tuple[list[AuditEntry], int]:
    query = select(AuditEntry)
    if office_id is not None:
        query = query.where(AuditEntry.office_id == office_id)
    if action:
        query = query.where(AuditEntry.action == action)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = (
        await session.execute(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))  # type: ignore[union-attr]
    ).scalars().all()
    return list(rows), total
