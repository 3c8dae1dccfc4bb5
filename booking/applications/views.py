"""An application's answer (``ApplicationOut``), its documents' and a clerk's decision's, in
the reader's language.

``app`` is the table row or the draft the booking write inserts
(``booking.appointments.services.hold.ApplicationDraft``): they share attribute names.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from booking.applications.schemas import (
    ApplicationLinks,
    ApplicationOut,
    Decision,
    DocumentLinks,
    DocumentOut,
    HistoryEntry,
    Missing,
    Requirement,
)
from booking.appointments.schemas import AppointmentOut
from booking.i18n import LazyText, gettext, lazy
from booking.jurisdiction.policy import DOCUMENT_KINDS, missing_documents
from booking.schemas import local

DECISION_MESSAGES: dict[str, tuple[LazyText, LazyText]] = {
    # status: (with the clerk's reason, without one)
    "needs_more_info": (lazy("The office needs more information: {reason}"),
                        lazy("The office needs more information.")),
    "approved": (lazy("The office has approved the application: {reason}"),
                 lazy("The office has approved the application.")),
    "rejected": (lazy("The office has rejected the application: {reason}"),
                 lazy("The office has rejected the application.")),
    "expired": (lazy("The seat hold expired before the review was finished."),
                lazy("The seat hold expired before the review was finished.")),
    "withdrawn": (lazy("The application was withdrawn."), lazy("The application was withdrawn.")),
}


def decision_message(status: str, reason: str | None, locale: str) -> str | None:
    """The fixed part in the reader's language; the clerk's own words as they typed them."""
    pair = DECISION_MESSAGES.get(status)
    if pair is None:
        return None
    with_reason, plain = pair
    if reason:  # replace, not format: the clerk's text may hold braces
        return gettext(with_reason.message, locale).replace("{reason}", reason)
    return plain.render(locale)


def document_out(application_id: uuid.UUID, doc: Any, locale: str) -> DocumentOut:
    spec = DOCUMENT_KINDS.get(doc.kind)
    return DocumentOut(
        id=doc.id, kind=doc.kind, title=spec.title.render(locale) if spec else doc.kind, party=doc.party,
        media_type=doc.media_type, size_bytes=doc.size_bytes, file_name=doc.file_name,
        created_at=local(doc.created_at),
        links=DocumentLinks(content=f"/api/v1/cross-province-applications/{application_id}/documents/{doc.id}"))


def application_out(app: Any, tz: ZoneInfo, appointment: AppointmentOut, documents: list[Any],
                    locale: str) -> ApplicationOut:
    """``app`` is an ``ApplicationDraft`` or the table row (same attribute names)."""
    base = f"/api/v1/cross-province-applications/{app.id}"
    missing = missing_documents(app.documents_required, [(d.kind, d.party) for d in documents])
    decided = app.status != "submitted" and app.history and app.history[-1]["status"] == app.status
    decision = None
    if decided:
        last = app.history[-1]
        decision = Decision(status=app.status, reason=last.get("reason"), at=datetime.fromisoformat(last["at"]),
                            message=decision_message(app.status, last.get("reason"), locale))
    return ApplicationOut(
        id=app.id, status=app.status, office_id=app.office_id, service=app.service, route=app.route,
        policy_period_id=app.policy_period_id, appointment_id=app.appointment_id,
        hold_expires_at=local(app.hold_expires_at, tz),
        required_documents=[
            Requirement(kind=k, title=DOCUMENT_KINDS[k].title.render(locale), per_party=DOCUMENT_KINDS[k].per_party)
            for k in app.documents_required if k in DOCUMENT_KINDS],
        missing_documents=[Missing(kind=k, party=p, title=DOCUMENT_KINDS[k].title.render(locale))
                           for k, p in missing if k in DOCUMENT_KINDS],
        answers=app.answers,
        documents=[document_out(app.id, d, locale) for d in documents],
        decision=decision,
        history=msgspec.convert(app.history, list[HistoryEntry]),  # stored as JSON (``hold.history_entry``)
        appointment=appointment,
        created_at=local(app.created_at),
        updated_at=local(app.updated_at or app.created_at),
        links=ApplicationLinks(self=base, documents=f"{base}/documents", appointment=appointment.links.self))


__all__ = ["application_out", "decision_message", "document_out"]
