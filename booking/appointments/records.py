"""Reading an appointment record and what goes with it (parties, office), the access rule
and the audited refusal.

The access rule and the audited refusal hold for any record of an office (an event, a
sign-up) as well."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NoReturn, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.audit.services import record
from booking.db.models import Appointment, AppointmentParty, UserAccount
from booking.errors import Conflict
from booking.kernel.catalog import DIVORCE
from booking.offices.directory import OfficeDirectory
from booking.runtime import Runtime


def directory(rt: Runtime) -> OfficeDirectory:
    return rt.extras["offices"]  # type: ignore[no-any-return]


async def load(session: AsyncSession, appointment_id: uuid.UUID) -> Appointment | None:
    """For reading; a change locks it with ``lifecycle.lock_for_change``."""
    return await session.get(Appointment, appointment_id)


class OfficeRecord(Protocol):
    """An appointment or what hangs on one (a cross-province application): whose it is and
    which office keeps it."""

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


async def parties_of(session: AsyncSession, appointment_id: uuid.UUID) -> list[AppointmentParty]:
    rows = await session.execute(select(AppointmentParty).where(AppointmentParty.appointment_id == appointment_id)
                                 .order_by(AppointmentParty.position))
    return list(rows.scalars().all())


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


async def account_email(session: AsyncSession, account_id: uuid.UUID | None) -> tuple[str | None, str | None]:
    if account_id is None:
        return None, None
    account = await session.get(UserAccount, account_id)
    return (account.email, account.name) if account else (None, None)
