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
from booking.i18n import N_
from booking.i18n.formatting import format_when
from booking.kernel.codes import display_code
from booking.notifications.registry import (
    RenderContext,
    Rendered,
    SubjectGone,
    Wording,
    notice,
    phone_resolver,
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


def _told(ctx: RenderContext, wording: Wording, signup: Signup, event: Event, office: OfficeInfo | None,
          **more: str) -> Rendered:
    """The wording filled with the sign-up's facts, with its invite by e-mail when it has a
    place (``office`` None: no invite)."""
    facts = {**_facts(signup, event, ctx.locale), **more}
    return wording.render(ctx.locale, facts, _invite(ctx, signup, event, office) if office else (None, None))


CHECK_IN_CODE = N_("Check-in code: {code}")
REASON = N_("Reason: {reason}")
PLACE = (CHECK_IN_CODE, N_("Venue: {venue}, {address}"), N_("Both parties come in person with their identity documents."))

CONFIRMED = Wording(
    N_("Place confirmed: {event}, {when}"), (N_("Your place at {event} ({kind}) on {when} is confirmed."), *PLACE),
    N_("[Weddings] Place confirmed: {event}, {when}. Code {code}."))
RECEIVED = Wording(
    N_("Sign-up received: {event}, {when}"),
    (N_("Your sign-up for {event} on {when} is received and a place is held for you."),
     N_("The organiser reviews each sign-up and tells you the decision."), CHECK_IN_CODE),
    N_("[Weddings] Sign-up received: {event}, {when}. Awaiting the organiser's approval."))
WAITLISTED = Wording(
    N_("On the waitlist: {event}"),
    (N_("{event} on {when} is full; you are number {position} on the waitlist."),
     N_("When a place frees up, couples are offered it in the order they signed up; we will tell you at once.")),
    N_("[Weddings] {event} is full; you are number {position} on the waitlist."))
PROMOTED_SUBJECT = N_("From the waitlist: a place at {event}")
PROMOTED_SMS = N_("[Weddings] A place at {event}, {when} is now yours. Code {code}.")
PROMOTED = Wording(PROMOTED_SUBJECT, (N_("A place at {event} on {when} has freed up and is now yours."), *PLACE),
                   PROMOTED_SMS)
PROMOTED_TO_REVIEW = Wording(
    PROMOTED_SUBJECT,
    (N_("A place at {event} on {when} has freed up and is held for you; the organiser reviews your sign-up next."),
     *PLACE),
    PROMOTED_SMS)
APPROVED = Wording(
    N_("Sign-up approved: {event}, {when}"),
    (N_("The organiser has approved your sign-up for {event} on {when}."), *PLACE),
    N_("[Weddings] Approved: {event}, {when}. Code {code}."))
NOT_APPROVED = Wording(
    N_("Sign-up not approved: {event}"), (N_("The organiser could not accept your sign-up for {event}."), REASON),
    N_("[Weddings] Your sign-up for {event} was not approved: {reason}"))
CANCELLED_SUBJECT = N_("Sign-up cancelled: {event}")
CANCELLED_SMS = N_("[Weddings] Sign-up cancelled: {event}, {when}.")
CANCELLED = Wording(CANCELLED_SUBJECT, (N_("Your sign-up for {event} on {when} is cancelled."), CHECK_IN_CODE),
                    CANCELLED_SMS)
CANCELLED_BY_OFFICE = Wording(
    CANCELLED_SUBJECT, (N_("The organiser has cancelled your sign-up for {event} on {when}."), CHECK_IN_CODE),
    CANCELLED_SMS)
EVENT_CHANGED = Wording(
    N_("Event changed: {event}, {when}"),
    (N_("The organiser has changed the details of {event}. It now takes place on {when}."),
     N_("Venue: {venue}, {address}"), CHECK_IN_CODE),
    N_("[Weddings] {event} changed: now {when}, {venue}."))
EVENT_CANCELLED = Wording(
    N_("Event cancelled: {event}"),
    (N_("The organiser has cancelled {event} on {when}; your sign-up is cancelled with it."), REASON),
    N_("[Weddings] {event} on {when} is cancelled: {reason}"))
REMINDER = Wording(
    N_("Reminder: {event}, {when}"), (N_("A reminder of {event} on {when}."), *PLACE),
    N_("[Weddings] Reminder: {event}, {when}, {venue}. Code {code}."))


@notice("signup.confirmed")
async def confirmed(ctx: RenderContext) -> Rendered:
    signup, event, office = await _load(ctx)
    _current(ctx, signup, event)
    if signup.status != "confirmed":
        raise SubjectGone("no longer confirmed")
    return _told(ctx, CONFIRMED, signup, event, office)


@notice("signup.received")
async def received(ctx: RenderContext) -> Rendered:
    signup, event, office = await _load(ctx)
    _current(ctx, signup, event)
    if signup.status != "pending_approval":
        raise SubjectGone("decided since")
    return _told(ctx, RECEIVED, signup, event, office)


@notice("signup.waitlisted")
async def waitlisted(ctx: RenderContext) -> Rendered:
    signup, event, _office = await _load(ctx)
    _current(ctx, signup, event)
    if signup.status != "waitlisted":
        raise SubjectGone("no longer waitlisted")
    return _told(ctx, WAITLISTED, signup, event, None, position=str(ctx.row.payload.get("position", "")))


@notice("signup.promoted")
async def promoted(ctx: RenderContext) -> Rendered:
    signup, event, office = await _load(ctx)
    _current(ctx, signup, event)
    if signup.status not in ("confirmed", "pending_approval"):
        raise SubjectGone("no longer holding the place")
    return _told(ctx, PROMOTED if signup.status == "confirmed" else PROMOTED_TO_REVIEW, signup, event, office)


@notice("signup.decided")
async def decided(ctx: RenderContext) -> Rendered:
    signup, event, office = await _load(ctx)
    approved = ctx.row.payload.get("decision") == "approve"
    if approved:
        _current(ctx, signup, event)
    return _told(ctx, APPROVED if approved else NOT_APPROVED, signup, event, office)


@notice("signup.cancelled")
async def cancelled(ctx: RenderContext) -> Rendered:
    signup, event, office = await _load(ctx)
    by_office = ctx.row.payload.get("by") == "office"
    return _told(ctx, CANCELLED_BY_OFFICE if by_office else CANCELLED, signup, event, office)


@notice("event.changed")
async def changed(ctx: RenderContext) -> Rendered:
    signup, event, office = await _load(ctx)
    _current(ctx, signup, event)
    if signup.status not in (*INVITED, "waitlisted") or event.status == "cancelled":
        raise SubjectGone("no longer signed up")
    return _told(ctx, EVENT_CHANGED, signup, event, office)


@notice("event.cancelled")
async def event_cancelled(ctx: RenderContext) -> Rendered:
    signup, event, office = await _load(ctx)
    return _told(ctx, EVENT_CANCELLED, signup, event, office)


@notice("event.reminder")
async def reminder(ctx: RenderContext) -> Rendered:
    signup, event, _office = await _load(ctx)
    if signup.status != "confirmed" or event.status != "published" or ctx.row.sequence != invite_sequence(event, signup):
        raise SubjectGone("the sign-up or the event changed since")
    return _told(ctx, REMINDER, signup, event, None)
