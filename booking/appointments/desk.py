"""The clerk's desk: the day's roster, check-in by code, completion, no-shows (and the sweep
that marks them), and the audited reveal of personal data."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import SYSTEM, Principal
from booking.appointments.book import REMINDER
from booking.appointments.codes import normalise_code
from booking.appointments.problems import InvalidTransition
from booking.appointments.records import deactivate_parties, load, parties_of, refuse, staff_load
from booking.appointments.schemas import RosterEntry
from booking.appointments.views import appointment_out, party_body
from booking.audit.services import record
from booking.db.models import Appointment, AppointmentParty
from booking.errors import NotFound
from booking.i18n import lazy
from booking.notifications.outbox import cancel_pending
from booking.offices.directory import office_of
from booking.parties.schemas import PartyOut, PartyRevealed
from booking.runtime import Runtime

NO_SHOW_GRACE = timedelta(hours=1)


async def find_by_code(session: AsyncSession, principal: Principal, office_id: int, code: str) -> uuid.UUID:
    principal.require_office(office_id)
    found = (await session.execute(select(Appointment.id).where(
        Appointment.code == normalise_code(code), Appointment.office_id == office_id))).scalar_one_or_none()
    if found is None:
        raise NotFound()
    return found


async def check_in(rt: Runtime, session: AsyncSession, principal: Principal, appointment_id: uuid.UUID) -> dict[str, Any]:
    """Check a couple in on the day of their appointment."""
    now = rt.clock.now()
    appt = await staff_load(session, principal, appointment_id)
    office = await office_of(rt, appt.office_id, session)
    if appt.status != "confirmed":
        await refuse(session, principal, "appointment.check_in", appt, InvalidTransition())
    if appt.starts_at.astimezone(office.tz).date() != now.astimezone(office.tz).date():
        await refuse(session, principal, "appointment.check_in", appt, InvalidTransition(
            lazy("Couples check in on the day of their appointment.")))
    appt.status = "checked_in"
    appt.checked_in_at = now
    appt.updated_at = now
    await cancel_pending(session, "appointment", appt.id, kinds=(REMINDER,))
    record(session, principal, "appointment.check_in", target_type="appointment", target_id=appt.id,
           office_id=appt.office_id, at=now)
    await session.commit()
    return appointment_out(appt, await parties_of(session, appt.id), office)


async def complete(rt: Runtime, session: AsyncSession, principal: Principal, appointment_id: uuid.UUID) -> dict[str, Any]:
    now = rt.clock.now()
    appt = await staff_load(session, principal, appointment_id)
    office = await office_of(rt, appt.office_id, session)
    if appt.status != "checked_in":
        await refuse(session, principal, "appointment.complete", appt, InvalidTransition())
    appt.status = "completed"
    appt.completed_at = now
    appt.updated_at = now
    await deactivate_parties(session, appt)
    record(session, principal, "appointment.complete", target_type="appointment", target_id=appt.id,
           office_id=appt.office_id, at=now)
    await session.commit()
    return appointment_out(appt, await parties_of(session, appt.id), office)


async def mark_no_show(rt: Runtime, session: AsyncSession, principal: Principal,
                       appointment_id: uuid.UUID) -> dict[str, Any]:
    now = rt.clock.now()
    appt = await staff_load(session, principal, appointment_id)
    office = await office_of(rt, appt.office_id, session)
    if appt.status != "confirmed":
        await refuse(session, principal, "appointment.no_show", appt, InvalidTransition())
    if now < appt.starts_at:
        await refuse(session, principal, "appointment.no_show", appt, InvalidTransition(
            lazy("An appointment can be marked missed only after it has started.")))
    await _to_no_show(session, appt, now)
    record(session, principal, "appointment.no_show", target_type="appointment", target_id=appt.id,
           office_id=appt.office_id, at=now)
    await session.commit()
    return appointment_out(appt, await parties_of(session, appt.id), office)


async def _to_no_show(session: AsyncSession, appt: Appointment, now: datetime) -> None:
    appt.status = "no_show"
    appt.updated_at = now
    await deactivate_parties(session, appt)
    await cancel_pending(session, "appointment", appt.id, kinds=(REMINDER,))


async def sweep_no_shows(rt: Runtime) -> int:
    """Appointments still unchecked an hour after their slot ended become no-shows."""
    now = rt.clock.now()
    async with rt.db.session() as session:
        overdue = (await session.execute(
            select(Appointment).where(Appointment.status == "confirmed",
                                      Appointment.ends_at < now - NO_SHOW_GRACE)
            .order_by(Appointment.ends_at).limit(500).with_for_update(skip_locked=True))).scalars().all()
        for appt in overdue:
            await _to_no_show(session, appt, now)
            record(session, SYSTEM, "appointment.no_show", target_type="appointment", target_id=appt.id,
                   office_id=appt.office_id, at=now, automatic=True)
        await session.commit()
        return len(overdue)


async def roster(rt: Runtime, session: AsyncSession, principal: Principal, office_id: int,
                 day: date) -> tuple[list[RosterEntry], dict[str, int]]:
    principal.require_office(office_id)
    office = await office_of(rt, office_id, session)
    start = datetime.combine(day, time(0), tzinfo=office.tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=office.tz).astimezone(UTC)
    appts = list((await session.execute(
        select(Appointment).where(Appointment.office_id == office_id, Appointment.starts_at >= start,
                                  Appointment.starts_at < end)
        .order_by(Appointment.starts_at, Appointment.created_at))).scalars().all())
    parties_by: dict[uuid.UUID, list[PartyOut]] = {}
    if appts:
        rows = await session.execute(select(AppointmentParty).where(
            AppointmentParty.appointment_id.in_([a.id for a in appts])).order_by(AppointmentParty.position))  # type: ignore[attr-defined]
        for p in rows.scalars():
            parties_by.setdefault(p.appointment_id, []).append(PartyOut(**party_body(p)))
    entries = [RosterEntry(id=a.id, code=a.code, status=a.status, service=a.service, slot_id=a.slot_id,
                           starts_at=a.starts_at.astimezone(office.tz), ends_at=a.ends_at.astimezone(office.tz),
                           channel=a.channel, parties=parties_by.get(a.id, []), checked_in_at=a.checked_in_at)
               for a in appts]
    return entries, dict(Counter(a.status for a in appts))


async def reveal(rt: Runtime, session: AsyncSession, principal: Principal,
                 appointment_id: uuid.UUID) -> list[PartyRevealed]:
    """The full ID numbers and phones, for a clerk of the office, written to the audit log."""
    appt = await load(session, appointment_id)
    if appt is None or principal.is_couple or not principal.manages_office(appt.office_id):
        raise NotFound()
    parties = await parties_of(session, appt.id)
    record(session, principal, "party.reveal", target_type="appointment", target_id=appt.id,
           office_id=appt.office_id, at=rt.clock.now(), positions=[p.position for p in parties])
    await session.commit()
    return [PartyRevealed(position=p.position, name=p.name, id_type=p.id_type,
                          id_number=rt.vault.decrypt(p.id_enc, context="party.id_number"),
                          phone=rt.vault.decrypt(p.phone_enc, context="party.phone")) for p in parties]
