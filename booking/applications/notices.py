"""What couples are told about their cross-province applications, in their language.

The approval carries the appointment's invite (METHOD:REQUEST, now CONFIRMED) like any
confirmation; rejection and expiry carry its CANCEL, since the receipt put a tentative
event in the couple's calendar. The clerk's reason is shown as typed.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from booking.appointments.notices import (
    ADDRESS,
    BOOKING_CODE,
    IN_PERSON,
    appointment_facts,
    appointment_invite,
    party_phone,
)
from booking.db.models import ApplicationDocument, Appointment, CrossProvinceApplication
from booking.i18n import N_
from booking.i18n.formatting import format_when
from booking.jurisdiction.policy import DOCUMENT_KINDS, missing_documents
from booking.notifications.registry import (
    RenderContext,
    Rendered,
    SubjectGone,
    Verbatim,
    Wording,
    notice,
    phone_resolver,
)
from booking.offices.directory import OfficeInfo, office_for
from booking.runtime import Runtime


@phone_resolver("application")
async def application_party_phone(rt: Runtime, session: Any, party_id: uuid.UUID) -> tuple[str, str] | None:
    """The SMS goes to the contact party of the appointment (the rows name an appointment party)."""
    return await party_phone(rt, session, party_id)


async def _load(ctx: RenderContext) -> tuple[CrossProvinceApplication, Appointment, OfficeInfo]:
    app = await ctx.session.get(CrossProvinceApplication, ctx.row.subject_id)
    if app is None:
        raise SubjectGone("application gone")
    appt = await ctx.session.get(Appointment, app.appointment_id)
    if appt is None:
        raise SubjectGone("appointment gone")
    return app, appt, await office_for(ctx, app.office_id)


def _expect(app: CrossProvinceApplication, *statuses: str) -> None:
    """A message about a state the application has since left is not sent."""
    if app.status not in statuses:
        raise SubjectGone("the application changed since")


async def _missing(ctx: RenderContext, app: CrossProvinceApplication) -> list[str]:
    present = (await ctx.session.execute(select(ApplicationDocument.kind, ApplicationDocument.party).where(
        ApplicationDocument.application_id == app.id))).all()
    titles = []
    for kind, _party in missing_documents(app.documents_required, [(k, p) for k, p in present]):
        title = DOCUMENT_KINDS[kind].title.render(ctx.locale) if kind in DOCUMENT_KINDS else kind
        if title not in titles:
            titles.append(title)
    return titles


def _list(items: list[str], locale: str) -> str:
    return ("、" if locale.startswith("zh") else ", ").join(items)


async def _told(ctx: RenderContext, wording: Wording, *statuses: str, invite: bool = True) -> Rendered:
    """The wording filled with the application's facts (the clerk's reason as typed, the
    documents still missing), with the appointment's invite by e-mail; nothing once the
    application has left ``statuses``."""
    app, appt, office = await _load(ctx)
    _expect(app, *statuses)
    if app.status == "approved" and appt.status not in ("confirmed", "checked_in"):
        raise SubjectGone("no longer confirmed")
    facts = appointment_facts(appt, office, ctx.locale)
    facts.update(hold=format_when(app.hold_expires_at, office.timezone, ctx.locale),
                 reason=app.decision_reason or "", documents=_list(await _missing(ctx, app), ctx.locale))
    return wording.render(ctx.locale, facts, appointment_invite(ctx, appt, office) if invite else (None, None))


RELEASED = N_("The held seat has been released.")
RECEIVED = Wording(
    N_("Application received: {service}, {when}"),
    (N_("Your cross-province application for {service} at {office} on {when} is received."),
     N_("The seat is held for you until {hold} while the office pre-reviews the application."),
     N_("Please upload: {documents}"), BOOKING_CODE),
    N_("[Marriage registration] Application received: {service}, {when}, {office}. Seat held until "
       "{hold}; upload your documents."))
NEEDS_MORE_INFO = Wording(
    N_("More information needed: {service}, {when}"),
    (N_("The office needs more information for your application ({service}, {when}):"), Verbatim("reason"),
     N_("Add the documents and send the application back before {hold}; the seat is held until then."),
     N_("Still missing: {documents}")),
    N_("[Marriage registration] The office needs more information for your application ({service}, "
       "{when}). Please check your e-mail or the app before {hold}."))
APPROVED = Wording(
    N_("Application approved, appointment confirmed: {service}, {when}"),
    (N_("The office has approved your application: your appointment for {service} at {office} is "
        "confirmed for {when}."), Verbatim("reason"), BOOKING_CODE, ADDRESS, IN_PERSON,
     N_("Bring the originals of the documents you uploaded."), N_("You can cancel or change it until {deadline}.")),
    N_("[Marriage registration] Application approved: {service} confirmed for {when}, {office}. Code {code}."))
REJECTED = Wording(
    N_("Application rejected: {service}, {when}"),
    (N_("The office has rejected your application for {service} on {when}:"), Verbatim("reason"), RELEASED),
    N_("[Marriage registration] Your application for {service} on {when} was rejected. Please check "
       "your e-mail or the app."))
EXPIRED = Wording(
    N_("Application expired: {service}, {when}"),
    (N_("Your application for {service} on {when} was not decided before the seat hold ended at {hold}."),
     N_("The held seat has been released; you may apply again for another slot.")),
    N_("[Marriage registration] The seat hold for {service} on {when} has ended and the seat was released."))


@notice("application.received")
async def received(ctx: RenderContext) -> Rendered:
    return await _told(ctx, RECEIVED, "submitted")


@notice("application.needs_more_info")
async def needs_more_info(ctx: RenderContext) -> Rendered:
    return await _told(ctx, NEEDS_MORE_INFO, "needs_more_info", invite=False)


@notice("application.approved")
async def approved(ctx: RenderContext) -> Rendered:
    return await _told(ctx, APPROVED, "approved")


@notice("application.rejected")
async def rejected(ctx: RenderContext) -> Rendered:
    return await _told(ctx, REJECTED, "rejected")


@notice("application.expired")
async def expired(ctx: RenderContext) -> Rendered:
    return await _told(ctx, EXPIRED, "expired")
