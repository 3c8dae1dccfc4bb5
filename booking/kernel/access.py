"""Who may see a record of an office (an appointment, an application, a sign-up), and the
audited refusal of a staff action: one rule for every area."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NoReturn, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.errors import Conflict
from booking.kernel.audit import record
from booking.kernel.catalog import DIVORCE


class OfficeRecord(Protocol):
    """A record an office keeps (an appointment, what hangs on one, a sign-up): whose it is
    and which office keeps it."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def account_id(self) -> uuid.UUID | None: ...
    @property
    def office_id(self) -> int: ...


def may_see(principal: Principal, record: OfficeRecord) -> bool:
    """The couple whose it is, or a clerk of its office (a walk-in's has no account). The
    parties of a divorce see its visits through their case (``booking.divorce``), which
    shows each party only what is theirs to see."""
    if principal.is_couple:
        return (record.account_id is not None and record.account_id == principal.id
                and getattr(record, "service", None) != DIVORCE)
    return principal.manages_office(record.office_id)


async def refuse(session: AsyncSession, actor: Principal, action: str, target: OfficeRecord, problem: Conflict,
                 *, target_type: str = "appointment", at: datetime | None = None, **detail: object) -> NoReturn:
    """Refused clerk actions are audited too (in their own transaction), then raised.
    ``target_type`` names what ``target`` is; ``detail`` joins the audit entry."""
    if not actor.is_couple:
        target_id, office_id = target.id, target.office_id  # read before the rollback expires them
        await session.rollback()
        record(session, actor, action, target_type=target_type, target_id=target_id, office_id=office_id,
               outcome=f"refused:{problem.code}", at=at, **detail)
        await session.commit()
    raise problem
