"""The clerk's desk: the day's roster, check-in by code, completion, turning a couple away,
no-shows (and the sweep that marks them), and the audited reveal of personal data. The
status changes themselves are ``lifecycle.py``'s."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import SYSTEM, Principal
from booking.appointments.problems import InvalidTransition
from booking.appointments.queries import load, parties_of
from booking.appointments.schemas import AppointmentOut, RosterEntry
from booking.appointments.services import lifecycle
from booking.appointments.views import appointment_out
from booking.context import Context
from booking.db.locking import lock_rows
from booking.db.models import Appointment, AppointmentParty, Slot
from booking.errors import NotFound
from booking.i18n import lazy
from booking.kernel.access import refuse
from booking.kernel.audit import record
from booking.kernel.catalog import DIVORCE
from booking.kernel.codes import normalise_code
from booking.parties.schemas import PartyOut, PartyRevealed
from booking.runtime import Runtime

NO_SHOW_GRACE = timedelta(hours=1)


async def find_by_code(ctx: Context, office_id: int, code: str) -> uuid.UUID:
    principal = ctx.caller
    principal.require_office(office_id)
    found = (await ctx.session.execute(select(Appointment.id).where(
        Appointment.code == normalise_code(code), Appointment.office_id == office_id))).scalar_one_or_none()
    if found is None:
        raise NotFound()
    return found


async def _staff_change(session: AsyncSession, principal: Principal, appointment_id: uuid.UUID,
                        change: lifecycle.Transition) -> Appointment:
    appt = await lifecycle.lock_for_change(session, appointment_id)
    if appt is None or principal.is_couple or not principal.manages_office(appt.office_id):
        raise NotFound()
    await lifecycle.ensure_allowed(session, principal, appt, change)
    return appt


ON_THE_DAY = {
    lifecycle.CHECK_IN.name: lazy("Couples check in on the day of their appointment."),
    lifecycle.TURN_AWAY.name: lazy("A couple is turned away on the day of their appointment."),
}


async def _desk(ctx: Context, appointment_id: uuid.UUID,
                change: lifecycle.Transition, *, on_the_day: bool = False, after_start: bool = False,
                reason: str | None = None) -> AppointmentOut:
    """A clerk's change at the counter, audited (refusals too)."""
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    now = rt.clock.now()
    appt = await _staff_change(session, principal, appointment_id, change)
    office = await rt.offices.of(appt.office_id, session)
    if change is lifecycle.COMPLETE and appt.service == DIVORCE:
        # a divorce visit is done by its case's step: receipt (受理) or the certificate
        await refuse(session, principal, change.audit, appt, InvalidTransition(
            lazy("A divorce visit is completed on its case: record the receipt or the registration.")))
    if on_the_day and appt.starts_at.astimezone(office.tz).date() != now.astimezone(office.tz).date():
        await refuse(session, principal, change.audit, appt, InvalidTransition(ON_THE_DAY[change.name]))
    if after_start and now < appt.starts_at:
        await refuse(session, principal, change.audit, appt, InvalidTransition(
            lazy("An appointment can be marked missed only after it has started.")))
    await lifecycle.apply(session, [appt], change, actor=principal, now=now, reason=reason)
    await session.commit()
    return appointment_out(appt, await parties_of(session, appt.id), office)


async def check_in(ctx: Context, appointment_id: uuid.UUID) -> AppointmentOut:
    """Check a couple in on the day of their appointment."""
    return await _desk(ctx, appointment_id, lifecycle.CHECK_IN, on_the_day=True)


async def complete(ctx: Context, appointment_id: uuid.UUID) -> AppointmentOut:
    """The registration is done: the one outcome that records a registration."""
    return await _desk(ctx, appointment_id, lifecycle.COMPLETE)


async def turn_away(ctx: Context, appointment_id: uuid.UUID,
                    reason: str) -> AppointmentOut:
    """The couple came but cannot be served (a document missing, say): the seat and the
    parties are free again, and it counts neither as a no-show nor as a registration."""
    return await _desk(ctx, appointment_id, lifecycle.TURN_AWAY, on_the_day=True,
                       reason=reason)


async def mark_no_show(ctx: Context,
                       appointment_id: uuid.UUID) -> AppointmentOut:
    return await _desk(ctx, appointment_id, lifecycle.NO_SHOW, after_start=True)


async def sweep_no_shows(rt: Runtime, limit: int = 500) -> int:
    """Appointments still unchecked an hour after their slot ended become no-shows. Safe to
    run twice and beside clerks: the slots are locked first (the lock order), then the
    appointments with SKIP LOCKED, re-checked; one a clerk holds is left for the next run."""
    now = rt.clock.now()
    overdue = (Appointment.status == "confirmed") & (Appointment.ends_at < now - NO_SHOW_GRACE)
    async with rt.db.session() as session:
        candidates = (await session.execute(select(Appointment.slot_id).where(overdue)
                                            .order_by(Appointment.ends_at).limit(limit))).scalars().all()
        slots = await lock_rows(session, Slot, candidates)
        query = select(Appointment).where(overdue, Appointment.slot_id.in_([s.id for s in slots]))  # type: ignore[attr-defined]
        if rt.db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        appts = list((await session.execute(query.order_by(Appointment.id).limit(limit)
                                            .execution_options(populate_existing=True))).scalars().all())
        await lifecycle.apply(session, appts, lifecycle.NO_SHOW, actor=SYSTEM, now=now)
        await session.commit()
        return len(appts)


async def roster(ctx: Context, office_id: int,
                 day: date) -> tuple[list[RosterEntry], dict[str, int]]:
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    principal.require_office(office_id)
    office = await rt.offices.of(office_id, session)
    start = datetime.combine(day, time(0), tzinfo=office.tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=office.tz).astimezone(UTC)
    appts = list((await session.execute(
        select(Appointment).where(Appointment.office_id == office_id, Appointment.starts_at >= start,
                                  Appointment.starts_at < end)
        .order_by(Appointment.starts_at, Appointment.created_at))).scalars().all())
    return await roster_entries(session, appts, office.tz), dict(Counter(a.status for a in appts))


async def roster_entries(session: AsyncSession, appts: list[Appointment], tz: ZoneInfo) -> list[RosterEntry]:
    """Appointments as the desk lists them: times in the office's zone, parties masked."""
    parties_by: dict[uuid.UUID, list[PartyOut]] = {}
    if appts:
        rows = await session.execute(select(AppointmentParty).where(
            AppointmentParty.appointment_id.in_([a.id for a in appts])).order_by(AppointmentParty.position))  # type: ignore[attr-defined]
        for p in rows.scalars():
            parties_by.setdefault(p.appointment_id, []).append(PartyOut.of(p))
    return [RosterEntry(id=a.id, code=a.code, status=a.status, service=a.service, slot_id=a.slot_id,
                        starts_at=a.starts_at.astimezone(tz), ends_at=a.ends_at.astimezone(tz),
                        channel=a.channel, parties=parties_by.get(a.id, []), checked_in_at=a.checked_in_at)
            for a in appts]


async def reveal(ctx: Context,
                 appointment_id: uuid.UUID, reason: str | None = None) -> list[PartyRevealed]:
    """The full ID numbers and phones, for a clerk of the office, written to the audit log
    (with the clerk's reason, which the desk page asks for)."""
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    appt = await load(session, appointment_id)
    if appt is None or principal.is_couple or not principal.manages_office(appt.office_id):
        raise NotFound()
    parties = await parties_of(session, appt.id)
    record(session, principal, "party.reveal", target_type="appointment", target_id=appt.id,
           office_id=appt.office_id, at=rt.clock.now(), positions=[p.position for p in parties],
           **({"reason": reason} if reason else {}))
    await session.commit()
    return [PartyRevealed(position=p.position, name=p.name, id_type=p.id_type,
                          id_number=rt.vault.decrypt(p.id_enc, context="party.id_number"),
                          phone=rt.vault.decrypt(p.phone_enc, context="party.phone")) for p in parties]
