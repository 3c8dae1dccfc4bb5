"""What the parties of a divorce are told, each by their own account and phone, in their
own language. Nothing here names the other party's actions beyond the case's state, nor
anything of how to reach them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from booking.appointments.invites import appointment_calendar
from booking.db.models import Appointment, DivorceCase, DivorceParty, DivorceVisit
from booking.divorce.services.cases import SUBJECT
from booking.i18n import format_message as _t
from booking.i18n import gettext
from booking.i18n.formatting import format_date, format_when
from booking.kernel.codes import display_code
from booking.notifications.registry import (
    RenderContext,
    Rendered,
    SubjectGone,
    notice,
    phone_resolver,
    sms_text,
)
from booking.offices.directory import office_for
from booking.runtime import Runtime


@phone_resolver(SUBJECT)
async def _party_phone(rt: Runtime, session: Any, party_id: uuid.UUID) -> tuple[str, str] | None:
    party = await session.get(DivorceParty, party_id)
    if party is None or party.phone_enc is None or party.phone_hash is None:
        return None
    return rt.vault.decrypt(party.phone_enc, context="party.phone"), party.phone_hash


async def _cancel_invite(ctx: RenderContext) -> tuple[bytes | None, str | None]:
    """The CANCEL of the visit that ended with the case (named in the payload when it had
    been confirmed, so its invite is in the party's calendar): the event is removed there."""
    visit_id = ctx.row.payload.get("visit")
    if not visit_id or ctx.email is None:
        return None, None
    appt = await ctx.session.get(Appointment, uuid.UUID(visit_id))
    if appt is None or appt.status != "cancelled":
        return None, None
    office = await office_for(ctx, appt.office_id)
    return appointment_calendar(appt, office, ctx.rt.settings, ctx.locale, (ctx.email, ctx.name),
                                ctx.rt.clock.now())


async def _facts(ctx: RenderContext) -> tuple[DivorceCase, dict[str, str]]:
    case = await ctx.session.get(DivorceCase, ctx.row.subject_id)
    if case is None:
        raise SubjectGone("case gone")
    office = await office_for(ctx, case.office_id)
    loc = ctx.locale
    facts = {"office": office.name(loc), "address": office.address(loc)}
    for name in ("received_on", "cooling_off_ends", "window_ends"):
        value = getattr(case, name)
        if value is not None:
            facts[name] = format_date(value, loc, "long")
    if case.cooling_off_ends is not None:
        facts["window_opens"] = format_date(case.cooling_off_ends + timedelta(days=1), loc, "long")
    visit_id = ctx.row.payload.get("visit")
    if visit_id:
        appt = await ctx.session.get(Appointment, uuid.UUID(visit_id))
        visit = await ctx.session.get(DivorceVisit, uuid.UUID(visit_id))
        if appt is None or visit is None:
            raise SubjectGone("visit gone")
        facts.update(when=format_when(appt.starts_at, office.timezone, loc), code=display_code(appt.code),
                     confirm_by=format_when(visit.confirm_by, office.timezone, loc))
    return case, facts


def _still_received(case: DivorceCase) -> None:
    if case.status != "received":
        raise SubjectGone("the case moved on")


@notice("divorce.applied")
async def applied(ctx: RenderContext) -> Rendered:
    _case, f = await _facts(ctx)
    loc = ctx.locale
    return Rendered(
        subject=_t("Divorce registration: application visit booked for {when}", loc, f),
        lines=[
            _t("Your application visit for divorce registration at {office} is booked for {when}.", loc, f),
            _t("It stands once the other party confirms it with their own account, by {confirm_by}: give them the "
               "booking code {code}.", loc, f),
            _t("Address: {address}", loc, f),
        ],
        sms=sms_text("[Marriage registration] Divorce application visit {when}, {office}: awaiting the other "
                     "party's confirmation by {confirm_by}. Code {code}.", loc, f),
    )


@notice("divorce.received")
async def received(ctx: RenderContext) -> Rendered:
    _case, f = await _facts(ctx)
    loc = ctx.locale
    return Rendered(
        subject=_t("Divorce registration: application received on {received_on}", loc, f),
        lines=[
            _t("{office} received your divorce registration application on {received_on}.", loc, f),
            _t("Cooling-off period: until {cooling_off_ends}. Until then either party may withdraw the "
               "application.", loc, f),
            _t("Then both parties come in person for the divorce certificate between {window_opens} and "
               "{window_ends}; book that visit together. Without it the application counts as withdrawn.", loc, f),
        ],
        sms=sms_text("[Marriage registration] Divorce application received {received_on}. Cooling-off until "
                     "{cooling_off_ends}; certificate visit {window_opens} to {window_ends}.", loc, f),
    )


@notice("divorce.window_open")
async def window_open(ctx: RenderContext) -> Rendered:
    case, f = await _facts(ctx)
    _still_received(case)
    loc = ctx.locale
    return Rendered(
        subject=_t("Divorce registration: book the certificate visit by {window_ends}", loc, f),
        lines=[
            _t("The cooling-off period has ended. Both parties now come in person to {office} for the divorce "
               "certificate, by {window_ends}.", loc, f),
            gettext("Book the certificate visit in your account; the other party confirms it with theirs.", loc),
            _t("Without a certificate visit by {window_ends} the application counts as withdrawn.", loc, f),
        ],
        sms=sms_text("[Marriage registration] Cooling-off ended: book the divorce certificate visit at {office} "
                     "by {window_ends}.", loc, f),
    )


@notice("divorce.window_closing")
async def window_closing(ctx: RenderContext) -> Rendered:
    case, f = await _facts(ctx)
    _still_received(case)
    loc = ctx.locale
    return Rendered(
        subject=_t("Divorce registration: the certificate window closes on {window_ends}", loc, f),
        lines=[
            _t("One week left: the window for the divorce certificate at {office} closes on {window_ends}.", loc, f),
            _t("Without a certificate visit by both parties by then, the application counts as withdrawn.", loc, f),
        ],
        sms=sms_text("[Marriage registration] One week left: the divorce certificate window at {office} closes "
                     "{window_ends}.", loc, f),
    )


@notice("divorce.visit_booked")
async def visit_booked(ctx: RenderContext) -> Rendered:
    case, f = await _facts(ctx)
    _still_received(case)
    loc = ctx.locale
    return Rendered(
        subject=_t("Divorce registration: certificate visit booked for {when}", loc, f),
        lines=[
            _t("The certificate visit at {office} is booked for {when}.", loc, f),
            _t("It stands once the other party confirms it with their own account, by {confirm_by}.", loc, f),
            _t("Booking code: {code}", loc, f),
        ],
        sms=sms_text("[Marriage registration] Divorce certificate visit {when}, {office}: awaiting confirmation "
                     "by {confirm_by}. Code {code}.", loc, f),
    )


@notice("divorce.visit_to_confirm")
async def visit_to_confirm(ctx: RenderContext) -> Rendered:
    case, f = await _facts(ctx)
    _still_received(case)
    loc = ctx.locale
    return Rendered(
        subject=_t("Divorce registration: confirm the certificate visit on {when}", loc, f),
        lines=[
            _t("A certificate visit at {office} on {when} awaits your confirmation in your account, by "
               "{confirm_by}.", loc, f),
            _t("Booking code: {code}", loc, f),
        ],
        sms=sms_text("[Marriage registration] Confirm the divorce certificate visit {when}, {office} in your "
                     "account by {confirm_by}.", loc, f),
    )


@notice("divorce.visit_lapsed")
async def visit_lapsed(ctx: RenderContext) -> Rendered:
    case, f = await _facts(ctx)
    _still_received(case)
    loc = ctx.locale
    return Rendered(
        subject=_t("Divorce registration: the certificate visit on {when} was not confirmed", loc, f),
        lines=[
            _t("The certificate visit on {when} was not confirmed in time; its place is released.", loc, f),
            _t("A certificate visit can be booked until {window_ends}.", loc, f),
        ],
        sms=sms_text("[Marriage registration] Divorce certificate visit {when} not confirmed; released. Book "
                     "another by {window_ends}.", loc, f),
    )


@notice("divorce.withdrawn")
async def withdrawn(ctx: RenderContext) -> Rendered:
    _case, f = await _facts(ctx)
    loc = ctx.locale
    calendar, method = await _cancel_invite(ctx)
    return Rendered(
        subject=gettext("Divorce registration: application withdrawn", loc),
        lines=[_t("You have withdrawn the divorce registration application at {office}. The case is closed.",
                  loc, f)],
        sms=sms_text("[Marriage registration] You withdrew the divorce application at {office}; the case is "
                     "closed.", loc, f),
        calendar=calendar, calendar_method=method,
    )


@notice("divorce.ended")
async def ended(ctx: RenderContext) -> Rendered:
    case, f = await _facts(ctx)
    loc = ctx.locale
    calendar, method = await _cancel_invite(ctx)
    lines = [_t("The divorce registration case at {office} has ended; nothing more is needed from you.", loc, f)]
    if case.status == "deemed_withdrawn":
        lines.append(_t("No certificate visit took place by {window_ends}, so the application counts as "
                        "withdrawn (Civil Code art. 1077).", loc, f))
    lines.append(gettext("For questions, ask the office.", loc))
    return Rendered(
        subject=gettext("Divorce registration: the case has ended", loc),
        lines=lines,
        sms=sms_text("[Marriage registration] The divorce registration case at {office} has ended.", loc, f),
        calendar=calendar, calendar_method=method,
    )


@notice("divorce.registered")
async def registered(ctx: RenderContext) -> Rendered:
    _case, f = await _facts(ctx)
    loc = ctx.locale
    return Rendered(
        subject=gettext("Divorce registration: registered", loc),
        lines=[_t("The divorce is registered at {office} and the certificates are issued.", loc, f)],
        sms=sms_text("[Marriage registration] The divorce is registered at {office}.", loc, f),
    )
