"""What couples are told about their sign-ups and events, by e-mail and SMS, in their language.

Each row names the sign-up; the renderer reads it as it is now. An update overtaken by a
later change (a lower SEQUENCE) is not sent, nor a reminder of a sign-up no longer
confirmed. E-mails carry the sign-up's invite (REQUEST, or CANCEL once it is over).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from booking.db.models import Event, Signup, SignupParty
from booking.events.invites import (
    INVITED,
    event_address,
    event_title,
    event_venue,
    kind_title,
    signup_calendar,
)
from booking.events.messages import invite_sequence
from booking.i18n import format_message as _t
from booking.i18n import gettext
from booking.i18n.formatting import format_when
from booking.kernel.codes import display_code
from booking.notifications.registry import (
    RenderContext,
    Rendered,
    SubjectGone,
    notice,
    phone_resolver,
    sms_text,
)
from booking.offices.directory import OfficeInfo, office_for
from booking.runtime import Runtime


@phone_resolver("signup")
async def signup_phone(rt: Runtime, session: Any, signup_id: uuid.UUID) -> tuple[str, str] | None:
    """SMS about a sign-up go to its contact, else to its first party."""
    signup = await session.get(Signup, signup_id)
    if signup is None:
        return None
    if signup.contact_phone_enc and signup.contact_phone_hash:
        return rt.vault.decrypt(signup.contact_phone_enc, context="party.phone"), signup.contact_phone_hash
    party = (await session.execute(select(SignupParty).where(
        SignupParty.signup_id == signup_id, SignupParty.position == 1))).scalar_one_or_none()
    if party is None:
        return None
    return rt.vault.decrypt(party.phone_enc, context="party.phone"), party.phone_hash


async def _load(ctx: RenderContext) -> tuple[Signup, Event, OfficeInfo]:
    signup = await ctx.session.get(Signup, ctx.row.subject_id)
    event = await ctx.session.get(Event, signup.event_id) if signup is not None else None
    if signup is None or event is None:
        raise SubjectGone("sign-up gone")
    return signup, event, await office_for(ctx, event.office_id)


def _facts(signup: Signup, event: Event, locale: str) -> dict[str, str]:
    return {
        "event": event_title(event, locale),
        "kind": kind_title(event.kind, locale),
        "venue": event_venue(event, locale),
        "address": event_address(event, locale),
        "when": format_when(event.starts_at, event.timezone, locale),
        "code": display_code(signup.code),
        "guests": str(signup.guests),
        "reason": signup.decision_reason or event.cancel_reason or "",
    }



def _current(ctx: RenderContext, signup: Signup, event: Event) -> None:
    """An update overtaken by a later change is not sent: the later message says it all."""
    if ctx.row.sequence < invite_sequence(event, signup):
        raise SubjectGone("superseded by a later change")


def _invite(ctx: RenderContext, signup: Signup, event: Event, office: OfficeInfo) -> tuple[bytes | None, str | None]:
    if ctx.email is None or signup.status == "waitlisted" or ctx.row.payload.get("held") is False:
        return None, None  # no place, no invite (nor a CANCEL of one never sent)
    return signup_calendar(signup, event, office, ctx.rt.settings, ctx.locale, (ctx.email, ctx.name),
                           ctx.rt.clock.now())


def _place_lines(loc: str, f: dict[str, str]) -> list[str]:
    return [
        _t("Check-in code: {code}", loc, f),
        _t("Venue: {venue}, {address}", loc, f),
        gettext("Both parties come in person with their identity documents.", loc),
    ]


@notice("signup.confirmed")
async def confirmed(ctx: RenderContext) -> Rendered:
    signup, event, office = await _load(ctx)
    _current(ctx, signup, event)
    if signup.status != "confirmed":
        raise SubjectGone("no longer confirmed")
    f, loc = _facts(signup, event, ctx.locale), ctx.locale
    calendar, method = _invite(ctx, signup, event, office)
    return Rendered(
        subject=_t("Place confirmed: {event}, {when}", loc, f),
        lines=[_t("Your place at {event} ({kind}) on {when} is confirmed.", loc, f), *_place_lines(loc, f)],
        sms=sms_text("[Weddings] Place confirmed: {event}, {when}. Code {code}.", loc, f),
        calendar=calendar, calendar_method=method)


@notice("signup.received")
async def received(ctx: RenderContext) -> Rendered:
    signup, event, office = await _load(ctx)
    _current(ctx, signup, event)
    if signup.status != "pending_approval":
        raise SubjectGone("decided since")
    f, loc = _facts(signup, event, ctx.locale), ctx.locale
    calendar, method = _invite(ctx, signup, event, office)
    return Rendered(
        subject=_t("Sign-up received: {event}, {when}", loc, f),
        lines=[_t("Your sign-up for {event} on {when} is received and a place is held for you.", loc, f),
               gettext("The organiser reviews each sign-up and tells you the decision.", loc),
               _t("Check-in code: {code}", loc, f)],
        sms=sms_text("[Weddings] Sign-up received: {event}, {when}. Awaiting the organiser's approval.", loc, f),
        calendar=calendar, calendar_method=method)


@notice("signup.waitlisted")
async def waitlisted(ctx: RenderContext) -> Rendered:
    signup, event, _office = await _load(ctx)
    _current(ctx, signup, event)
    if signup.status != "waitlisted":
        raise SubjectGone("no longer waitlisted")
    f, loc = _facts(signup, event, ctx.locale), ctx.locale
    f["position"] = ctx.row.payload.get("position", "")
    return Rendered(
        subject=_t("On the waitlist: {event}", loc, f),
        lines=[_t("{event} on {when} is full; you are number {position} on the waitlist.", loc, f),
               gettext("When a place frees up, couples are offered it in the order they signed up; we will "
                       "tell you at once.", loc)],
        sms=sms_text("[Weddings] {event} is full; you are number {position} on the waitlist.", loc, f))


@notice("signup.promoted")
async def promoted(ctx: RenderContext) -> Rendered:
    signup, event, office = await _load(ctx)
    _current(ctx, signup, event)
    if signup.status not in ("confirmed", "pending_approval"):
        raise SubjectGone("no longer holding the place")
    f, loc = _facts(signup, event, ctx.locale), ctx.locale
    calendar, method = _invite(ctx, signup, event, office)
    first = (_t("A place at {event} on {when} has freed up and is now yours.", loc, f)
             if signup.status == "confirmed" else
             _t("A place at {event} on {when} has freed up and is held for you; the organiser reviews your "
                "sign-up next.", loc, f))
    return Rendered(
        subject=_t("From the waitlist: a place at {event}", loc, f),
        lines=[first, *_place_lines(loc, f)],
        sms=sms_text("[Weddings] A place at {event}, {when} is now yours. Code {code}.", loc, f),
        calendar=calendar, calendar_method=method)


@notice("signup.decided")
async def decided(ctx: RenderContext) -> Rendered:
    signup, event, office = await _load(ctx)
    approved = ctx.row.payload.get("decision") == "approve"
    if approved:
        _current(ctx, signup, event)
    f, loc = _facts(signup, event, ctx.locale), ctx.locale
    calendar, method = _invite(ctx, signup, event, office)
    if approved:
        return Rendered(
            subject=_t("Sign-up approved: {event}, {when}", loc, f),
            lines=[_t("The organiser has approved your sign-up for {event} on {when}.", loc, f), *_place_lines(loc, f)],
            sms=sms_text("[Weddings] Approved: {event}, {when}. Code {code}.", loc, f),
            calendar=calendar, calendar_method=method)
    return Rendered(
        subject=_t("Sign-up not approved: {event}", loc, f),
        lines=[_t("The organiser could not accept your sign-up for {event}.", loc, f),
               _t("Reason: {reason}", loc, f)],
        sms=sms_text("[Weddings] Your sign-up for {event} was not approved: {reason}", loc, f),
        calendar=calendar, calendar_method=method)


@notice("signup.cancelled")
async def cancelled(ctx: RenderContext) -> Rendered:
    signup, event, office = await _load(ctx)
    f, loc = _facts(signup, event, ctx.locale), ctx.locale
    by_office = ctx.row.payload.get("by") == "office"
    calendar, method = _invite(ctx, signup, event, office)
    first = (_t("The organiser has cancelled your sign-up for {event} on {when}.", loc, f) if by_office
             else _t("Your sign-up for {event} on {when} is cancelled.", loc, f))
    return Rendered(
        subject=_t("Sign-up cancelled: {event}", loc, f),
        lines=[first, _t("Check-in code: {code}", loc, f)],
        sms=sms_text("[Weddings] Sign-up cancelled: {event}, {when}.", loc, f),
        calendar=calendar, calendar_method=method)


@notice("event.changed")
async def changed(ctx: RenderContext) -> Rendered:
    signup, event, office = await _load(ctx)
    _current(ctx, signup, event)
    if signup.status not in (*INVITED, "waitlisted") or event.status == "cancelled":
        raise SubjectGone("no longer signed up")
    f, loc = _facts(signup, event, ctx.locale), ctx.locale
    calendar, method = _invite(ctx, signup, event, office)
    return Rendered(
        subject=_t("Event changed: {event}, {when}", loc, f),
        lines=[_t("The organiser has changed the details of {event}. It now takes place on {when}.", loc, f),
               _t("Venue: {venue}, {address}", loc, f), _t("Check-in code: {code}", loc, f)],
        sms=sms_text("[Weddings] {event} changed: now {when}, {venue}.", loc, f),
        calendar=calendar, calendar_method=method)


@notice("event.cancelled")
async def event_cancelled(ctx: RenderContext) -> Rendered:
    signup, event, office = await _load(ctx)
    f, loc = _facts(signup, event, ctx.locale), ctx.locale
    calendar, method = _invite(ctx, signup, event, office)
    return Rendered(
        subject=_t("Event cancelled: {event}", loc, f),
        lines=[_t("The organiser has cancelled {event} on {when}; your sign-up is cancelled with it.", loc, f),
               _t("Reason: {reason}", loc, f)],
        sms=sms_text("[Weddings] {event} on {when} is cancelled: {reason}", loc, f),
        calendar=calendar, calendar_method=method)


@notice("event.reminder")
async def reminder(ctx: RenderContext) -> Rendered:
    signup, event, _office = await _load(ctx)
    if signup.status != "confirmed" or event.status != "published" or ctx.row.sequence != invite_sequence(event, signup):
        raise SubjectGone("the sign-up or the event changed since")
    f, loc = _facts(signup, event, ctx.locale), ctx.locale
    return Rendered(
        subject=_t("Reminder: {event}, {when}", loc, f),
        lines=[_t("A reminder of {event} on {when}.", loc, f), *_place_lines(loc, f)],
        sms=sms_text("[Weddings] Reminder: {event}, {when}, {venue}. Code {code}.", loc, f))
