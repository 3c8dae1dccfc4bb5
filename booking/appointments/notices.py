"""What couples are told about their appointments, by e-mail and SMS, in their language."""

from __future__ import annotations

import uuid
from typing import Any

from booking.appointments.invites import appointment_calendar
from booking.appointments.services.reminders import derive_due
from booking.db.models import Appointment, AppointmentParty
from booking.i18n import format_message as _t
from booking.i18n import gettext
from booking.i18n.formatting import format_when
from booking.kernel.catalog import service_title
from booking.kernel.codes import display_code
from booking.notifications.registry import (
    RenderContext,
    Rendered,
    SubjectGone,
    due_source,
    notice,
    phone_resolver,
    sms_text,
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


def _superseded(ctx: RenderContext, appt: Appointment) -> None:
    """An update overtaken by a later change is not sent: the later message says it all."""
    if ctx.row.sequence < appt.sequence:
        raise SubjectGone("superseded by a later change")


@notice("appointment.confirmed")
async def confirmed(ctx: RenderContext) -> Rendered:
    appt, office = await _load(ctx)
    _superseded(ctx, appt)
    if appt.status not in ("confirmed", "checked_in"):
        raise SubjectGone("no longer confirmed")
    f, loc = appointment_facts(appt, office, ctx.locale), ctx.locale
    calendar, method = appointment_invite(ctx, appt, office)
    return Rendered(
        subject=_t("Appointment booked: {service}, {when}", loc, f),
        lines=[
            _t("Your appointment for {service} at {office} is booked for {when}.", loc, f),
            _t("Booking code: {code}", loc, f),
            _t("Address: {address}", loc, f),
            gettext("Both parties come in person with their identity documents.", loc),
            _t("You can cancel or change it until {deadline}.", loc, f),
        ],
        sms=sms_text("[Marriage registration] {service} booked: {when}, {office}. Code {code}.", loc, f),
        calendar=calendar, calendar_method=method,
    )


@notice("appointment.received")
async def received(ctx: RenderContext) -> Rendered:
    appt, office = await _load(ctx)
    _superseded(ctx, appt)
    f, loc = appointment_facts(appt, office, ctx.locale), ctx.locale
    calendar, method = appointment_invite(ctx, appt, office)
    return Rendered(
        subject=_t("Appointment request received: {service}, {when}", loc, f),
        lines=[
            _t("Your request for {service} at {office} on {when} is received; the seat is held for you.", loc, f),
            gettext("The office pre-reviews it and tells you its decision.", loc),
            _t("Booking code: {code}", loc, f),
        ],
        sms=sms_text("[Marriage registration] Request received: {service}, {when}, {office}. Code {code}. "
               "Awaiting pre-review.", loc, f),
        calendar=calendar, calendar_method=method,
    )


@notice("appointment.rescheduled")
async def rescheduled(ctx: RenderContext) -> Rendered:
    appt, office = await _load(ctx)
    _superseded(ctx, appt)
    if appt.status == "cancelled":
        raise SubjectGone("cancelled since")
    f, loc = appointment_facts(appt, office, ctx.locale), ctx.locale
    calendar, method = appointment_invite(ctx, appt, office)
    return Rendered(
        subject=_t("Appointment moved: {service}, {when}", loc, f),
        lines=[
            _t("Your appointment for {service} at {office} is now on {when}.", loc, f),
            _t("Booking code: {code}", loc, f),
            _t("Address: {address}", loc, f),
        ],
        sms=sms_text("[Marriage registration] Appointment moved: {service}, {when}, {office}. Code {code}.", loc, f),
        calendar=calendar, calendar_method=method,
    )


@notice("appointment.cancelled")
async def cancelled(ctx: RenderContext) -> Rendered:
    appt, office = await _load(ctx)
    f, loc = appointment_facts(appt, office, ctx.locale), ctx.locale
    by_office = ctx.row.payload.get("by") == "office"
    calendar, method = appointment_invite(ctx, appt, office)
    first = (_t("The office has cancelled your appointment for {service} on {when}.", loc, f) if by_office
             else _t("Your appointment for {service} on {when} is cancelled.", loc, f))
    return Rendered(
        subject=_t("Appointment cancelled: {service}, {when}", loc, f),
        lines=[first, _t("Booking code: {code}", loc, f)],
        sms=sms_text("[Marriage registration] Appointment cancelled: {service}, {when}. Code {code}.", loc, f),
        calendar=calendar, calendar_method=method,
    )


@notice("appointment.reminder")
async def reminder(ctx: RenderContext) -> Rendered:
    appt, office = await _load(ctx)
    if appt.status != "confirmed" or ctx.row.sequence != appt.sequence:
        raise SubjectGone("the appointment changed since")
    f, loc = appointment_facts(appt, office, ctx.locale), ctx.locale
    return Rendered(
        subject=_t("Reminder: {service}, {when}", loc, f),
        lines=[
            _t("A reminder of your appointment for {service} at {office} on {when}.", loc, f),
            _t("Booking code: {code}", loc, f),
            _t("Address: {address}", loc, f),
            gettext("Both parties come in person with their identity documents.", loc),
        ],
        sms=sms_text("[Marriage registration] Reminder: {service}, {when}, {office}. Code {code}.", loc, f),
    )
