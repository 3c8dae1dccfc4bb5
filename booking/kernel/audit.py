"""Writing the audit log: every area's staff actions and their refusals (read by
``booking.audit``)."""

from __future__ import annotations

from typing import Any

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
