"""Cancel and reschedule: lock the appointment row, move seats with conditional updates and
rewrite the outbox, all in one transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.appointments.book import REMINDER, recipients, release_problem, reminder_rows
from booking.appointments.problems import (
    CancelDeadlinePassed,
    InvalidTransition,
    NotInJurisdiction,
    SlotFullProblem,
    SlotNotBookable,
)
from booking.appointments.records import (
    deactivate_parties,
    load,
    may_see,
    parties_of,
    refuse,
    release_seat,
)
from booking.appointments.views import appointment_out
from booking.audit.services import record
from booking.db.models import Appointment, AppointmentParty, Slot
from booking.errors import InvalidInput, NotFound, field_error, invalid
from booking.i18n import lazy
from booking.jurisdiction.periods import office_area, policy_book
from booking.jurisdiction.policy import PartyHome, assess
from booking.notifications.outbox import add_rows, cancel_pending, messages
from booking.offices.directory import office_of
from booking.parties.rules import check_parties
from booking.parties.services import stored_facts, stored_home
from booking.runtime import Runtime


async def cancel(rt: Runtime, session: AsyncSession, principal: Principal, appointment_id: uuid.UUID,
                 reason: str | None = None) -> dict[str, Any]:
    """Cancel: before the office's deadline for couples, any time before the start for the
    office. The seat returns at once; pending reminders are cancelled; a CANCEL goes out."""
    now = rt.clock.now()
    appt = await load(session, appointment_id, lock=True)
    if appt is None or not may_see(principal, appt):
        raise NotFound()
    office = await office_of(rt, appt.office_id, session)
    by_office = not principal.is_couple
    if appt.status not in ("confirmed", "pending_review"):
        await refuse(session, principal, "appointment.cancel", appt, InvalidTransition())
    if not by_office and now > office.rules.cancel_deadline(appt.starts_at):
        await refuse(session, principal, "appointment.cancel", appt, CancelDeadlinePassed(
            deadline=office.rules.cancel_deadline(appt.starts_at).astimezone(office.tz).isoformat()))
    parties = await _cancel_locked(session, appt, by_office=by_office, now=now, reason=reason)
    if by_office:
        record(session, principal, "appointment.cancel", target_type="appointment", target_id=appt.id,
               office_id=appt.office_id, at=now, reason_given=bool(reason))
    await session.commit()
    return appointment_out(appt, parties, office)


async def _cancel_locked(session: AsyncSession, appt: Appointment, *, by_office: bool, now: datetime,
                         reason: str | None) -> list[AppointmentParty]:
    """Cancel a locked appointment: its seat returns, its parties are free to book again,
    its pending reminders are cancelled and a CANCEL goes out, all in the caller's
    transaction."""
    if appt.status == "pending_review":
        # the seat was held for a cross-province application: it closes with the appointment
        from booking.applications.services import close_with_appointment

        await close_with_appointment(session, appt, by_office=by_office, now=now, reason=reason)
    appt.status = "cancelled"
    appt.cancelled_by = "office" if by_office else "couple"
    appt.cancelled_at = now
    appt.sequence += 1
    appt.updated_at = now
    await release_seat(session, appt)
    await deactivate_parties(session, appt)
    parties = await parties_of(session, appt.id)
    await cancel_pending(session, "appointment", appt.id, kinds=(REMINDER,))
    await add_rows(session, messages("appointment.cancelled", "appointment", appt.id, appt.sequence,
                                     recipients(appt.account_id, parties), appt.locale, now,
                                     payload={"by": appt.cancelled_by}), now)
    return parties


async def cancel_day(session: AsyncSession, office_id: int, start: datetime, end: datetime, now: datetime,
                     reason: str | None) -> list[uuid.UUID]:
    """The office closes a date: every appointment still standing on it is cancelled by the
    office, and each couple is told. Appointment rows are locked (in id order) before the
    caller touches the day's slots, the order cancel and reschedule use too."""
    standing = list((await session.execute(
        select(Appointment).where(Appointment.office_id == office_id, Appointment.starts_at >= start,
                                  Appointment.starts_at < end,
                                  Appointment.status.in_(("confirmed", "pending_review")))  # type: ignore[attr-defined]
        .order_by(Appointment.id).with_for_update())).scalars().all())
    for appt in standing:
        await _cancel_locked(session, appt, by_office=True, now=now, reason=reason)
    return [a.id for a in standing]


async def reschedule(rt: Runtime, session: AsyncSession, principal: Principal, appointment_id: uuid.UUID,
                     new_slot_id: int) -> dict[str, Any]:
    """Move to another slot of the same office and service in one transaction: the new
    seat is taken and the old one released together, or nothing changes."""
    now = rt.clock.now()
    appt = await load(session, appointment_id, lock=True)
    if appt is None or not may_see(principal, appt):
        raise NotFound()
    office = await office_of(rt, appt.office_id, session)
    if appt.status not in ("confirmed", "pending_review"):
        raise InvalidTransition()
    if principal.is_couple and now > office.rules.cancel_deadline(appt.starts_at):
        raise CancelDeadlinePassed(
            deadline=office.rules.cancel_deadline(appt.starts_at).astimezone(office.tz).isoformat())
    if new_slot_id == appt.slot_id:
        raise invalid("slot_id", lazy("This is already the appointment's slot."))
    new_slot = await session.get(Slot, new_slot_id)
    if new_slot is None or new_slot.office_id != appt.office_id or new_slot.service != appt.service:
        raise invalid("slot_id", lazy("No such slot."))
    if new_slot.status != "open":
        raise SlotNotBookable(lazy("The office has closed this slot."))
    problem = release_problem(office.rules, new_slot.local_date, new_slot.starts_at, now, office)
    if problem is not None:
        raise problem
    parties = await parties_of(session, appt.id)
    refusals = check_parties(appt.service, [stored_facts(rt.vault, p) for p in parties], new_slot.local_date)
    if refusals:
        raise InvalidInput(errors=[field_error(r.field, r.message) for r in refusals])
    # The policy in force on the new date decides, as it did at booking (a move across the
    # start of a policy period can change it).
    verdict = assess(office_area(office), appt.service, [PartyHome(stored_home(rt.vault, p), p.id_type) for p in parties],
                     new_slot.local_date, await policy_book(rt).periods())
    if not verdict.may_register:
        raise NotInJurisdiction(reason=verdict.reason)
    if verdict.prereview and appt.status == "confirmed":
        raise NotInJurisdiction(lazy("On that date the office must pre-review this couple: book that date anew."),
                                reason="prereview_required")

    # Lock both slots in id order (two reschedules crossing each other cannot deadlock),
    # then take the new seat with a conditional update and release the old one.
    await session.execute(select(Slot.id).where(Slot.id.in_(sorted({appt.slot_id, new_slot_id})))  # type: ignore[union-attr]
                          .order_by(Slot.id).with_for_update())
    taken = await session.execute(
        update(Slot).where(Slot.id == new_slot_id, Slot.booked < Slot.capacity, Slot.status == "open")
        .values(booked=Slot.booked + 1).returning(Slot.id))
    if taken.first() is None:
        await session.rollback()
        raise SlotFullProblem()
    await release_seat(session, appt)
    appt.slot_id = new_slot_id
    appt.starts_at = new_slot.starts_at
    appt.ends_at = new_slot.ends_at
    appt.sequence += 1
    appt.updated_at = now
    who = recipients(appt.account_id, parties)
    await cancel_pending(session, "appointment", appt.id, kinds=(REMINDER,))
    rows = messages("appointment.rescheduled", "appointment", appt.id, appt.sequence, who, appt.locale, now)
    if appt.status == "confirmed":
        rows += reminder_rows(appt.id, appt.sequence, who, appt.locale, appt.starts_at, office, now)
    await add_rows(session, rows, now)
    if not principal.is_couple:
        record(session, principal, "appointment.reschedule", target_type="appointment", target_id=appt.id,
               office_id=appt.office_id, at=now, to_slot=new_slot_id)
    await session.commit()
    return appointment_out(appt, parties, office)
