"""A couple or clerk reading appointments."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.appointments.invites import appointment_calendar
from booking.appointments.queries import account_email, load, parties_of
from booking.appointments.schemas import AppointmentOut
from booking.appointments.views import application_id_of, appointment_out
from booking.context import Context
from booking.db.models import Appointment, AppointmentParty, CrossProvinceApplication
from booking.errors import NotFound
from booking.kernel.access import may_see
from booking.kernel.catalog import DIVORCE


async def get_appointment(ctx: Context,
                          appointment_id: uuid.UUID) -> AppointmentOut:
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    appt = await load(session, appointment_id)
    if appt is None or not may_see(principal, appt):
        raise NotFound()
    office = await rt.offices.of(appt.office_id, session)
    return appointment_out(appt, await parties_of(session, appt.id), office, await application_id_of(session, appt))


async def list_own(ctx: Context, *, status: str | None,
                   limit: int, offset: int) -> tuple[list[AppointmentOut], int]:
    # a divorce's visits are shown with their case (``booking.divorce``)
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    query = select(Appointment).where(Appointment.account_id == principal.id, Appointment.service != DIVORCE)
    if status:
        query = query.where(Appointment.status == status)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    appts = list((await session.execute(query.order_by(Appointment.starts_at.desc()).limit(limit).offset(offset)))  # type: ignore[attr-defined]
                 .scalars().all())
    # parties and applications of the whole page in two queries, not two per appointment
    parties: dict[uuid.UUID, list[AppointmentParty]] = {}
    for party in (await session.execute(select(AppointmentParty).where(
            AppointmentParty.appointment_id.in_([a.id for a in appts]))  # type: ignore[attr-defined]
            .order_by(AppointmentParty.position))).scalars():
        parties.setdefault(party.appointment_id, []).append(party)
    applications = dict((await session.execute(select(
        CrossProvinceApplication.appointment_id, CrossProvinceApplication.id).where(
        CrossProvinceApplication.appointment_id.in_([a.id for a in appts if a.review_reason])))).all())  # type: ignore[attr-defined]
    out = []
    for appt in appts:
        office = await rt.offices.of(appt.office_id, session)
        out.append(appointment_out(appt, parties.get(appt.id, []), office, applications.get(appt.id)))
    return out, total


async def visible(session: AsyncSession, principal: Principal, appointment_id: uuid.UUID) -> Appointment:
    """The appointment if the caller may see it (its couple or its office); else 404."""
    appt = await session.get(Appointment, appointment_id)
    if appt is None or not may_see(principal, appt):
        raise NotFound()
    return appt


async def invite_file(ctx: Context, appointment_id: uuid.UUID) -> tuple[bytes, str, str]:
    """The appointment's invite: (iCalendar file, METHOD, file name). The couple's own copy
    names them as attendee (METHOD:REQUEST); staff get the event without the couple's
    address (PUBLISH, or a CANCEL naming the office as its attendee)."""
    rt, session, principal, locale = ctx.rt, ctx.session, ctx.caller, ctx.locale
    appt = await visible(session, principal, appointment_id)
    office = await rt.offices.of(appt.office_id, session)
    attendee = await account_email(session, appt.account_id) if principal.is_couple else (None, None)
    body, method = appointment_calendar(appt, office, rt.settings, locale, attendee if attendee[0] else None,
                                        rt.clock.now())
    return body, method, f"appointment-{appt.code}.ics"
