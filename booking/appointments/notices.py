"""What couples are told about their appointments, by e-mail and SMS, in their language."""

from __future__ import annotations

import uuid
from typing import Any

from booking.appointments.invites import appointment_calendar
from booking.appointments.services.reminders import derive_due
from booking.db.models import Appointment, AppointmentParty
from booking.i18n import N_
from booking.i18n.formatting import format_when
from booking.kernel.catalog import service_title
from booking.kernel.codes import display_code
from booking.notifications.registry import (
    RenderContext,
    Rendered,
    SubjectGone,
    Wording,
    due_source,
    notice,
    phone_resolver,
)
from booking.offices.directory import OfficeInfo, office_for
from booking.runtime import Runtime

due_source(derive_due)  # reminders: written by the sweep when due


@phone_resolver("appointment")
async def party_phone(rt: Runtime, session: Any, party_id: uuid.UUID) -> tuple[str, str] | None:
    party = await session.get(AppointmentParty, party_id)
    if party is None:
        return None
    return rt.vault.decrypt(party.phone_enc, context="party.phone"), party.phone_hash


async def _load(ctx: RenderContext) -> tuple[Appointment, OfficeInfo]:
    appt = await ctx.session.get(Appointment, ctx.row.subject_id)
    if appt is None:
        raise SubjectGone("appointment gone")
    return appt, await office_for(ctx, appt.office_id)


def appointment_facts(appt: Appointment, office: OfficeInfo, locale: str) -> dict[str, str]:
    return {
        "service": service_title(appt.service, locale),
        "office": office.name(locale),
        "address": office.address(locale),
        "when": format_when(appt.starts_at, office.timezone, locale),
        "code": display_code(appt.code),
        "deadline": format_when(office.rules.cancel_deadline(appt.starts_at), office.timezone, locale),
    }



def appointment_invite(ctx: RenderContext, appt: Appointment, office: OfficeInfo) -> tuple[bytes | None, str | None]:
    if ctx.email is None:
        return None, None
    body, method = appointment_calendar(appt, office, ctx.rt.settings, ctx.locale, (ctx.email, ctx.name),
                                        ctx.rt.clock.now())
    return body, method


def _told(ctx: RenderContext, wording: Wording, appt: Appointment, office: OfficeInfo, *,
          invite: bool = True) -> Rendered:
    """The wording filled with the appointment's facts, with its calendar invite by e-mail."""
    facts = appointment_facts(appt, office, ctx.locale)
    return wording.render(ctx.locale, facts, appointment_invite(ctx, appt, office) if invite else (None, None))


def _superseded(ctx: RenderContext, appt: Appointment) -> None:
    """An update overtaken by a later change is not sent: the later message says it all."""
    if ctx.row.sequence < appt.sequence:
        raise SubjectGone("superseded by a later change")


BOOKING_CODE = N_("Booking code: {code}")
ADDRESS = N_("Address: {address}")
IN_PERSON = N_("Both parties come in person with their identity documents.")

CONFIRMED = Wording(
    N_("Appointment booked: {service}, {when}"),
    (N_("Your appointment for {service} at {office} is booked for {when}."), BOOKING_CODE, ADDRESS, IN_PERSON,
     N_("You can cancel or change it until {deadline}.")),
    N_("[Marriage registration] {service} booked: {when}, {office}. Code {code}."))
RECEIVED = Wording(
    N_("Appointment request received: {service}, {when}"),
    (N_("Your request for {service} at {office} on {when} is received; the seat is held for you."),
     N_("The office pre-reviews it and tells you its decision."), BOOKING_CODE),
    N_("[Marriage registration] Request received: {service}, {when}, {office}. Code {code}. Awaiting pre-review."))
RESCHEDULED = Wording(
    N_("Appointment moved: {service}, {when}"),
    (N_("Your appointment for {service} at {office} is now on {when}."), BOOKING_CODE, ADDRESS),
    N_("[Marriage registration] Appointment moved: {service}, {when}, {office}. Code {code}."))
CANCELLED_SUBJECT = N_("Appointment cancelled: {service}, {when}")
CANCELLED_SMS = N_("[Marriage registration] Appointment cancelled: {service}, {when}. Code {code}.")
CANCELLED = Wording(CANCELLED_SUBJECT, (N_("Your appointment for {service} on {when} is cancelled."), BOOKING_CODE),
                    CANCELLED_SMS)
CANCELLED_BY_OFFICE = Wording(
    CANCELLED_SUBJECT, (N_("The office has cancelled your appointment for {service} on {when}."), BOOKING_CODE),
    CANCELLED_SMS)
REMINDER = Wording(
    N_("Reminder: {service}, {when}"),
    (N_("A reminder of your appointment for {service} at {office} on {when}."), BOOKING_CODE, ADDRESS, IN_PERSON),
    N_("[Marriage registration] Reminder: {service}, {when}, {office}. Code {code}."))


@notice("appointment.confirmed")
async def confirmed(ctx: RenderContext) -> Rendered:
    appt, office = await _load(ctx)
    _superseded(ctx, appt)
    if appt.status not in ("confirmed", "checked_in"):
        raise SubjectGone("no longer confirmed")
    return _told(ctx, CONFIRMED, appt, office)


@notice("appointment.received")
async def received(ctx: RenderContext) -> Rendered:
    appt, office = await _load(ctx)
    _superseded(ctx, appt)
    return _told(ctx, RECEIVED, appt, office)


@notice("appointment.rescheduled")
async def rescheduled(ctx: RenderContext) -> Rendered:
    appt, office = await _load(ctx)
    _superseded(ctx, appt)
    if appt.status == "cancelled":
        raise SubjectGone("cancelled since")
    return _told(ctx, RESCHEDULED, appt, office)


@notice("appointment.cancelled")
async def cancelled(ctx: RenderContext) -> Rendered:
    appt, office = await _load(ctx)
    by_office = ctx.row.payload.get("by") == "office"
    return _told(ctx, CANCELLED_BY_OFFICE if by_office else CANCELLED, appt, office)


@notice("appointment.reminder")
async def reminder(ctx: RenderContext) -> Rendered:
    appt, office = await _load(ctx)
    if appt.status != "confirmed" or ctx.row.sequence != appt.sequence:
        raise SubjectGone("the appointment changed since")
    return _told(ctx, REMINDER, appt, office, invite=False)
