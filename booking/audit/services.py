"""Writing and reading the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.db.models import AuditEntry


def record(
    session: AsyncSession,
    actor: Principal,
    action: str,
    *,
    target_type: str,
    target_id: Any,
    office_id: int | None,
    outcome: str = "ok",
    at: Any = None,
    **detail: Any,
) -> AuditEntry:
    """Add an audit entry to the caller's transaction (it commits with the change)."""
    entry = AuditEntry(
        actor_id=actor.id,
        actor_role=actor.role,
        office_id=office_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        outcome=outcome,
        detail=detail,
    )
    if at is not None:
        entry.at = at
    session.add(entry)
    return entry


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
