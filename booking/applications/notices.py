"""What couples are told about their cross-province applications, in their language.

The approval carries the appointment's invite (METHOD:REQUEST, now CONFIRMED) like any
confirmation; rejection and expiry carry its CANCEL, since the receipt put a tentative
event in the couple's calendar. The clerk's reason is shown as typed.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from booking.appointments.notices import appointment_facts, appointment_invite, party_phone
from booking.db.models import ApplicationDocument, Appointment, CrossProvinceApplication
from booking.i18n import format_message as _t
from booking.i18n import gettext
from booking.i18n.formatting import format_when
from booking.jurisdiction.policy import DOCUMENT_KINDS, missing_documents
from booking.notifications.registry import RenderContext, Rendered, SubjectGone, notice, phone_resolver, sms_text
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


def _app_facts(app: CrossProvinceApplication, appt: Appointment, office: OfficeInfo, locale: str) -> dict[str, str]:
    facts = appointment_facts(appt, office, locale)
    facts["hold"] = format_when(app.hold_expires_at, office.timezone, locale)
    facts["reason"] = app.decision_reason or ""
    return facts


@notice("application.received")
async def received(ctx: RenderContext) -> Rendered:
    app, appt, office = await _load(ctx)
    _expect(app, "submitted")
    loc = ctx.locale
    f = _app_facts(app, appt, office, loc)
    lines = [
        _t("Your cross-province application for {service} at {office} on {when} is received.", loc, f),
        _t("The seat is held for you until {hold} while the office pre-reviews the application.", loc, f),
    ]
    missing = await _missing(ctx, app)
    if missing:
        lines.append(_t("Please upload: {documents}", loc, {"documents": _list(missing, loc)}))
    lines.append(_t("Booking code: {code}", loc, f))
    calendar, method = appointment_invite(ctx, appt, office)
    return Rendered(
        subject=_t("Application received: {service}, {when}", loc, f),
        lines=lines,
        sms=sms_text("[Marriage registration] Application received: {service}, {when}, {office}. Seat held until "
               "{hold}; upload your documents.", loc, f),
        calendar=calendar, calendar_method=method,
    )


@notice("application.needs_more_info")
async def needs_more_info(ctx: RenderContext) -> Rendered:
    app, appt, office = await _load(ctx)
    _expect(app, "needs_more_info")
    loc = ctx.locale
    f = _app_facts(app, appt, office, loc)
    lines = [
        _t("The office needs more information for your application ({service}, {when}):", loc, f),
        app.decision_reason or "",
        _t("Add the documents and send the application back before {hold}; the seat is held until then.",
           loc, f),
    ]
    missing = await _missing(ctx, app)
    if missing:
        lines.append(_t("Still missing: {documents}", loc, {"documents": _list(missing, loc)}))
    return Rendered(
        subject=_t("More information needed: {service}, {when}", loc, f),
        lines=[line for line in lines if line],
        sms=sms_text("[Marriage registration] The office needs more information for your application ({service}, "
               "{when}). Please check your e-mail or the app before {hold}.", loc, f),
    )


@notice("application.approved")
async def approved(ctx: RenderContext) -> Rendered:
    app, appt, office = await _load(ctx)
    _expect(app, "approved")
    if appt.status not in ("confirmed", "checked_in"):
        raise SubjectGone("no longer confirmed")
    loc = ctx.locale
    f = _app_facts(app, appt, office, loc)
    lines = [_t("The office has approved your application: your appointment for {service} at {office} is "
                "confirmed for {when}.", loc, f)]
    if app.decision_reason:
        lines.append(app.decision_reason)
    lines += [
        _t("Booking code: {code}", loc, f),
        _t("Address: {address}", loc, f),
        gettext("Both parties come in person with their identity documents.", loc),
        gettext("Bring the originals of the documents you uploaded.", loc),
        _t("You can cancel or change it until {deadline}.", loc, f),
    ]
    calendar, method = appointment_invite(ctx, appt, office)
    return Rendered(
        subject=_t("Application approved, appointment confirmed: {service}, {when}", loc, f),
        lines=lines,
        sms=sms_text("[Marriage registration] Application approved: {service} confirmed for {when}, {office}. "
               "Code {code}.", loc, f),
        calendar=calendar, calendar_method=method,
    )


@notice("application.rejected")
async def rejected(ctx: RenderContext) -> Rendered:
    app, appt, office = await _load(ctx)
    _expect(app, "rejected")
    loc = ctx.locale
    f = _app_facts(app, appt, office, loc)
    calendar, method = appointment_invite(ctx, appt, office)
    lines = [_t("The office has rejected your application for {service} on {when}:", loc, f)]
    if app.decision_reason:
        lines.append(app.decision_reason)
    lines.append(gettext("The held seat has been released.", loc))
    return Rendered(
        subject=_t("Application rejected: {service}, {when}", loc, f),
        lines=lines,
        sms=sms_text("[Marriage registration] Your application for {service} on {when} was rejected. Please check "
               "your e-mail or the app.", loc, f),
        calendar=calendar, calendar_method=method,
    )


@notice("application.expired")
async def expired(ctx: RenderContext) -> Rendered:
    app, appt, office = await _load(ctx)
    _expect(app, "expired")
    loc = ctx.locale
    f = _app_facts(app, appt, office, loc)
    calendar, method = appointment_invite(ctx, appt, office)
    return Rendered(
        subject=_t("Application expired: {service}, {when}", loc, f),
        lines=[_t("Your application for {service} on {when} was not decided before the seat hold ended at "
                  "{hold}.", loc, f),
               gettext("The held seat has been released; you may apply again for another slot.", loc)],
        sms=sms_text("[Marriage registration] The seat hold for {service} on {when} has ended and the seat was "
               "released.", loc, f),
        calendar=calendar, calendar_method=method,
    )
