"""Reading an appointment record and what goes with it (parties, office), the access rule,
and the seat and party changes that cancel, reschedule, the desk and pre-review share.

The access rule and the audited refusal hold for any record of an office (an event, a
sign-up) as well."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import NoReturn, Protocol

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.audit.services import record
from booking.db.models import Appointment, AppointmentParty, Slot, UserAccount
from booking.errors import Conflict, NotFound
from booking.offices.directory import OfficeDirectory
from booking.runtime import Runtime


def directory(rt: Runtime) -> OfficeDirectory:
    return rt.extras["offices"]  # type: ignore[no-any-return]


async def load(session: AsyncSession, appointment_id: uuid.UUID, *, lock: bool = False) -> Appointment | None:
    return await session.get(Appointment, appointment_id, with_for_update=lock or None)  # type: ignore[arg-type]


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
    """The couple whose it is, or a clerk of its office (a walk-in's has no account)."""
    if principal.is_couple:
        return record.account_id is not None and record.account_id == principal.id
    return principal.manages_office(record.office_id)


async def parties_of(session: AsyncSession, appointment_id: uuid.UUID) -> list[AppointmentParty]:
    rows = await session.execute(select(AppointmentParty).where(AppointmentParty.appointment_id == appointment_id)
                                 .order_by(AppointmentParty.position))
    return list(rows.scalars().all())


async def release_seat(session: AsyncSession, appt: Appointment) -> None:
    await session.execute(update(Slot).where(Slot.id == appt.slot_id, Slot.booked > 0)
                          .values(booked=Slot.booked - 1))


async def release_seats(session: AsyncSession, appts: Sequence[Appointment]) -> None:
    """The seats of several appointments: one statement per slot, in slot order, so that two
    such releases never wait on each other in a circle."""
    for slot_id, count in sorted(Counter(a.slot_id for a in appts).items()):
        await session.execute(update(Slot).where(Slot.id == slot_id, Slot.booked > 0)
                              .values(booked=case((Slot.booked >= count, Slot.booked - count), else_=0)))


async def deactivate_parties(session: AsyncSession, *appts: Appointment) -> None:
    if len(appts) == 1:
        where = AppointmentParty.appointment_id == appts[0].id
    else:
        where = AppointmentParty.appointment_id.in_([a.id for a in appts])  # type: ignore[attr-defined]
    await session.execute(update(AppointmentParty).where(where).values(active=False))


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


async def staff_load(session: AsyncSession, principal: Principal, appointment_id: uuid.UUID) -> Appointment:
    appt = await load(session, appointment_id, lock=True)
    if appt is None or principal.is_couple or not principal.manages_office(appt.office_id):
        raise NotFound()
    return appt


async def account_email(session: AsyncSession, account_id: uuid.UUID | None) -> tuple[str | None, str | None]:
    if account_id is None:
        return None, None
    account = await session.get(UserAccount, account_id)
    return (account.email, account.name) if account else (None, None)
