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
from booking.i18n import N_
from booking.i18n.formatting import format_date, format_when
from booking.kernel.codes import display_code
from booking.notifications.registry import (
    RenderContext,
    Rendered,
    Renderer,
    SubjectGone,
    Wording,
    notice,
    phone_resolver,
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


APPLIED = Wording(
    N_("Divorce registration: application visit booked for {when}"),
    (N_("Your application visit for divorce registration at {office} is booked for {when}."),
     N_("It stands once the other party confirms it with their own account, by {confirm_by}: give them the "
        "booking code {code}."),
     N_("Address: {address}")),
    N_("[Marriage registration] Divorce application visit {when}, {office}: awaiting the other "
       "party's confirmation by {confirm_by}. Code {code}."))
RECEIVED = Wording(
    N_("Divorce registration: application received on {received_on}"),
    (N_("{office} received your divorce registration application on {received_on}."),
     N_("Cooling-off period: until {cooling_off_ends}. Until then either party may withdraw the application."),
     N_("Then both parties come in person for the divorce certificate between {window_opens} and "
        "{window_ends}; book that visit together. Without it the application counts as withdrawn.")),
    N_("[Marriage registration] Divorce application received {received_on}. Cooling-off until "
       "{cooling_off_ends}; certificate visit {window_opens} to {window_ends}."))
WINDOW_OPEN = Wording(
    N_("Divorce registration: book the certificate visit by {window_ends}"),
    (N_("The cooling-off period has ended. Both parties now come in person to {office} for the divorce "
        "certificate, by {window_ends}."),
     N_("Book the certificate visit in your account; the other party confirms it with theirs."),
     N_("Without a certificate visit by {window_ends} the application counts as withdrawn.")),
    N_("[Marriage registration] Cooling-off ended: book the divorce certificate visit at {office} by {window_ends}."))
WINDOW_CLOSING = Wording(
    N_("Divorce registration: the certificate window closes on {window_ends}"),
    (N_("One week left: the window for the divorce certificate at {office} closes on {window_ends}."),
     N_("Without a certificate visit by both parties by then, the application counts as withdrawn.")),
    N_("[Marriage registration] One week left: the divorce certificate window at {office} closes {window_ends}."))
VISIT_BOOKED = Wording(
    N_("Divorce registration: certificate visit booked for {when}"),
    (N_("The certificate visit at {office} is booked for {when}."),
     N_("It stands once the other party confirms it with their own account, by {confirm_by}."),
     N_("Booking code: {code}")),
    N_("[Marriage registration] Divorce certificate visit {when}, {office}: awaiting confirmation "
       "by {confirm_by}. Code {code}."))
VISIT_TO_CONFIRM = Wording(
    N_("Divorce registration: confirm the certificate visit on {when}"),
    (N_("A certificate visit at {office} on {when} awaits your confirmation in your account, by {confirm_by}."),
     N_("Booking code: {code}")),
    N_("[Marriage registration] Confirm the divorce certificate visit {when}, {office} in your "
       "account by {confirm_by}."))
VISIT_LAPSED = Wording(
    N_("Divorce registration: the certificate visit on {when} was not confirmed"),
    (N_("The certificate visit on {when} was not confirmed in time; its place is released."),
     N_("A certificate visit can be booked until {window_ends}.")),
    N_("[Marriage registration] Divorce certificate visit {when} not confirmed; released. Book "
       "another by {window_ends}."))
WITHDRAWN = Wording(
    N_("Divorce registration: application withdrawn"),
    (N_("You have withdrawn the divorce registration application at {office}. The case is closed."),),
    N_("[Marriage registration] You withdrew the divorce application at {office}; the case is closed."))
ENDED_LINE = N_("The divorce registration case at {office} has ended; nothing more is needed from you.")
ASK_THE_OFFICE = N_("For questions, ask the office.")
ENDED_SUBJECT = N_("Divorce registration: the case has ended")
ENDED_SMS = N_("[Marriage registration] The divorce registration case at {office} has ended.")
ENDED = Wording(ENDED_SUBJECT, (ENDED_LINE, ASK_THE_OFFICE), ENDED_SMS)
DEEMED_WITHDRAWN = Wording(
    ENDED_SUBJECT,
    (ENDED_LINE, N_("No certificate visit took place by {window_ends}, so the application counts as "
                    "withdrawn (Civil Code art. 1077)."), ASK_THE_OFFICE),
    ENDED_SMS)
REGISTERED = Wording(
    N_("Divorce registration: registered"),
    (N_("The divorce is registered at {office} and the certificates are issued."),),
    N_("[Marriage registration] The divorce is registered at {office}."))


@notice("divorce.applied")
async def applied(ctx: RenderContext) -> Rendered:
    _case, facts = await _facts(ctx)
    return APPLIED.render(ctx.locale, facts)


@notice("divorce.received")
async def received(ctx: RenderContext) -> Rendered:
    _case, facts = await _facts(ctx)
    return RECEIVED.render(ctx.locale, facts)


def _while_received(kind: str, wording: Wording) -> Renderer:
    """The renderer of a message true only while the case is received (its cooling-off
    period or certificate window): once the case moved on, it is not sent."""

    async def render(ctx: RenderContext) -> Rendered:
        case, facts = await _facts(ctx)
        _still_received(case)
        return wording.render(ctx.locale, facts)

    return notice(kind)(render)


window_open = _while_received("divorce.window_open", WINDOW_OPEN)
window_closing = _while_received("divorce.window_closing", WINDOW_CLOSING)
visit_booked = _while_received("divorce.visit_booked", VISIT_BOOKED)
visit_to_confirm = _while_received("divorce.visit_to_confirm", VISIT_TO_CONFIRM)
visit_lapsed = _while_received("divorce.visit_lapsed", VISIT_LAPSED)


@notice("divorce.withdrawn")
async def withdrawn(ctx: RenderContext) -> Rendered:
    _case, facts = await _facts(ctx)
    return WITHDRAWN.render(ctx.locale, facts, await _cancel_invite(ctx))


@notice("divorce.ended")
async def ended(ctx: RenderContext) -> Rendered:
    case, facts = await _facts(ctx)
    wording = DEEMED_WITHDRAWN if case.status == "deemed_withdrawn" else ENDED
    return wording.render(ctx.locale, facts, await _cancel_invite(ctx))


@notice("divorce.registered")
async def registered(ctx: RenderContext) -> Rendered:
    _case, facts = await _facts(ctx)
    return REGISTERED.render(ctx.locale, facts)
