"""Cancel, reschedule, and the cancellation of what stands on slots the office closes: each in
one transaction, with the locks taken in the order of ``booking.db.locking`` and the status
changes made by ``lifecycle.py``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.appointments.problems import (
    CancelDeadlinePassed,
    InvalidTransition,
    NotInJurisdiction,
    SlotFullProblem,
    SlotNotBookable,
)
from booking.appointments.queries import parties_of
from booking.appointments.schemas import AppointmentOut
from booking.appointments.services import hold, lifecycle
from booking.appointments.services.placement import Party, check_placement
from booking.appointments.views import appointment_out
from booking.context import Context
from booking.db.locking import lock_rows
from booking.db.models import Appointment, AppointmentParty, CrossProvinceApplication, Slot
from booking.errors import NotFound, invalid
from booking.i18n import lazy
from booking.jurisdiction.policy import PartyHome
from booking.kernel.access import may_see, refuse
from booking.kernel.audit import record
from booking.offices.directory import OfficeInfo
from booking.parties.services import stored_facts
from booking.security.pii import PersonalDataVault


async def _visible_for_change(session: AsyncSession, principal: Principal, appointment_id: uuid.UUID,
                              also_slot: int | None = None) -> Appointment:
    appt = await lifecycle.lock_for_change(session, appointment_id, also_slot)
    if appt is None or not may_see(principal, appt):
        raise NotFound()
    return appt


async def _before_deadline(session: AsyncSession, principal: Principal, appt: Appointment, office: OfficeInfo,
                           now: datetime, action: str) -> None:
    """Couples change an appointment until the office's deadline; the office any time."""
    deadline = office.rules.cancel_deadline(appt.starts_at)
    if principal.is_couple and now > deadline:
        await refuse(session, principal, action, appt,
                     CancelDeadlinePassed(deadline=deadline.astimezone(office.tz).isoformat()))


async def cancel(ctx: Context, appointment_id: uuid.UUID,
                 reason: str | None = None) -> AppointmentOut:
    """Cancel: before the office's deadline for couples, any time before the start for the
    office. The seat returns at once; pending reminders are cancelled; a CANCEL goes out."""
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    now = rt.clock.now()
    appt = await _visible_for_change(session, principal, appointment_id)
    office = await rt.offices.of(appt.office_id, session)
    change = lifecycle.CANCEL_BY_COUPLE if principal.is_couple else lifecycle.CANCEL_BY_OFFICE
    await lifecycle.ensure_allowed(session, principal, appt, change)
    await _before_deadline(session, principal, appt, office, now, change.audit)
    await lifecycle.apply(session, [appt], change, actor=principal, now=now,
                          reason=None if principal.is_couple else reason, reason_given=bool(reason))
    await session.commit()
    return appointment_out(appt, await parties_of(session, appt.id), office)


def standing_on(slot_ids: Sequence[int] | Select[Any]) -> ColumnElement[bool]:
    """The appointments a closing of these slots cancels (``cancel_standing``), and what the
    closure's preview lists: one rule for both."""
    on_them = Appointment.slot_id.in_(slot_ids)  # type: ignore[attr-defined]
    active = Appointment.status.in_([s.value for s in lifecycle.CLOSE_DAY.sources])  # type: ignore[attr-defined]
    return on_them & active  # type: ignore[no-any-return]


async def cancel_standing(session: AsyncSession, principal: Principal, slot_ids: Sequence[int], now: datetime,
                          reason: str | None) -> int:
    """Cancel, as the office, every appointment still standing on slots the caller has
    just closed (and holds locked): each couple is told. Returns how many."""
    # Every status change locks the slot first, so with these slots locked the set of
    # appointments standing on them cannot change under us.
    standing = await lock_rows(session, Appointment, where=standing_on(list(slot_ids)))
    await lifecycle.apply(session, standing, lifecycle.CLOSE_DAY, actor=principal, now=now, reason=reason,
                          cause="office_day")
    return len(standing)


def stored_parties(vault: PersonalDataVault, parties: Sequence[AppointmentParty]) -> list[Party]:
    """Stored parties as the placement rules see them: the hukou they gave, no guess; sex
    and birth date decrypted (they are never kept in plain text)."""
    return [Party(stored_facts(vault, p), PartyHome(p.hukou_province, p.id_type)) for p in parties]


async def reschedule(ctx: Context, appointment_id: uuid.UUID,
                     new_slot_id: int) -> AppointmentOut:
    """Move to another slot of the same office and service in one transaction: the new
    seat is taken and the old one released together, or nothing changes. The same rules
    as a booking (a clerk's move, at the counter, is free of the online cut-off); a held
    seat's hold follows it to the new date."""
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    now = rt.clock.now()
    appt = await _visible_for_change(session, principal, appointment_id, also_slot=new_slot_id)
    office = await rt.offices.of(appt.office_id, session)
    if appt.status not in ("confirmed", "pending_review"):
        await refuse(session, principal, "appointment.reschedule", appt, InvalidTransition())
    await _before_deadline(session, principal, appt, office, now, "appointment.reschedule")
    if new_slot_id == appt.slot_id:
        raise invalid("slot_id", lazy("This is already the appointment's slot."))
    new_slot = await session.get(Slot, new_slot_id)  # locked with the old one
    if new_slot is None or new_slot.office_id != appt.office_id or new_slot.service != appt.service:
        raise invalid("slot_id", lazy("No such slot."))
    parties = await parties_of(session, appt.id)
    # The policy in force on the new date decides, as at booking (a move across the start
    # of a policy period can change it).
    verdict = check_placement(office, new_slot, appt.service, stored_parties(rt.vault, parties), now,
                              await rt.policy.periods(), counter=not principal.is_couple)
    if verdict.prereview and appt.status == "confirmed":
        raise NotInJurisdiction(lazy("On that date the office must pre-review this couple: book that date anew."),
                                reason="prereview_required")
    if not await lifecycle.move_seat(session, appt, new_slot, now):
        closed = new_slot.status != "open"
        await session.rollback()
        raise SlotNotBookable(lazy("The office has closed this slot.")) if closed else SlotFullProblem()
    application = None
    if appt.status == "pending_review":
        application = (await session.execute(select(CrossProvinceApplication).where(
            CrossProvinceApplication.appointment_id == appt.id).with_for_update())).scalar_one_or_none()
        if application is not None:
            hold.follow_move(application, appt.starts_at, office.rules.review_hold_hours)
    await lifecycle.rewrite_reminders(session, appt, office, "appointment.rescheduled", now)
    if not principal.is_couple:
        record(session, principal, "appointment.reschedule", target_type="appointment", target_id=appt.id,
               office_id=appt.office_id, at=now, to_slot=new_slot_id)
    await session.commit()
    return appointment_out(appt, parties, office, application.id if application else None)
