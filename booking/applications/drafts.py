"""The application a booking opens when the policy routes a couple to pre-review.

Both entry points converge here: ``POST /api/v1/cross-province-applications`` (with the
couple's answers) and ``POST /api/v1/appointments`` (no answers) book through the same
``booking.appointments.book.book``, which writes the application row in the same
statement as the held seat (``booking.appointments.store``). This module imports nothing
from the appointments area, which imports it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from booking.errors import Conflict
from booking.i18n import LazyText, gettext, lazy
from booking.jurisdiction.policy import DOCUMENT_KINDS, Assessment, missing_documents
from booking.notifications.outbox import OutboxRow, Recipients, messages
from booking.schemas import iso

APPLICATION_SCOPE = "application.create"
RECEIVED = "application.received"


class PrereviewNotRequired(Conflict):
    code = "prereview-not-required"
    title = lazy("This couple needs no pre-review here; book the appointment directly.")


@dataclass(slots=True)
class ReviewRequest:
    """What the application endpoint adds to a booking: the couple's answers."""

    answers: dict[str, Any]

    @property
    def residence_permit(self) -> str | None:
        """Where a party's residence permit was issued; None: neither holds one (an
        application answers the question, unlike a plain booking)."""
        permit = self.answers.get("residence_permit")
        return permit["division_code"] if permit else None


@dataclass(slots=True)
class ApplicationDraft:
    """The row the booking write inserts (attribute names as on the table)."""

    id: uuid.UUID
    appointment_id: uuid.UUID
    office_id: int
    account_id: uuid.UUID | None
    service: str
    route: str
    policy_period_id: int | None
    documents_required: list[str]
    answers: dict[str, Any]
    hold_expires_at: datetime
    history: list[dict[str, Any]]
    created_at: datetime
    status: str = "submitted"
    version: int = 0
    updated_at: datetime | None = None


def hold_until(now: datetime, hold_hours: int, starts_at: datetime) -> datetime:
    """The office's hold, but never past the appointment itself."""
    return min(now + timedelta(hours=hold_hours), starts_at)


def new_application(*, appointment_id: uuid.UUID, office_id: int, account_id: uuid.UUID | None, service: str,
                    verdict: Assessment, review: ReviewRequest | None, now: datetime, hold_hours: int,
                    starts_at: datetime, by: str) -> ApplicationDraft:
    return ApplicationDraft(
        id=uuid.uuid4(), appointment_id=appointment_id, office_id=office_id, account_id=account_id,
        service=service, route=verdict.reason or "nonlocal",
        policy_period_id=verdict.period.id if verdict.period else None,
        documents_required=list(verdict.documents), answers=dict(review.answers) if review else {},
        hold_expires_at=hold_until(now, hold_hours, starts_at),
        history=[history_entry("submitted", now, by)], created_at=now, updated_at=now)


def history_entry(status: str, at: datetime, by: str, reason: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"status": status, "at": iso(at), "by": by}
    if reason:
        entry["reason"] = reason
    return entry


def received_rows(application: ApplicationDraft, who: Recipients, locale: str, now: datetime) -> list[OutboxRow]:
    return messages(RECEIVED, "application", application.id, application.version, who, locale, now)


# --- the one JSON shape of an application (``ApplicationOut`` documents it) -------------

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


def document_body(application_id: uuid.UUID, doc: Any, locale: str) -> dict[str, Any]:
    spec = DOCUMENT_KINDS.get(doc.kind)
    return {
        "id": str(doc.id), "kind": doc.kind, "title": spec.title.render(locale) if spec else doc.kind,
        "party": doc.party, "media_type": doc.media_type, "size_bytes": doc.size_bytes, "file_name": doc.file_name,
        "created_at": iso(doc.created_at),
        "links": {"content": f"/api/v1/cross-province-applications/{application_id}/documents/{doc.id}"},
    }


def application_body(app: Any, tz: ZoneInfo, appointment: dict[str, Any], documents: list[Any],
                     locale: str) -> dict[str, Any]:
    """``app`` is an ``ApplicationDraft`` or the table row (same attribute names)."""
    base = f"/api/v1/cross-province-applications/{app.id}"
    missing = missing_documents(app.documents_required, [(d.kind, d.party) for d in documents])
    decided = app.status != "submitted" and app.history and app.history[-1]["status"] == app.status
    decision = None
    if decided:
        last = app.history[-1]
        decision = {"status": app.status, "reason": last.get("reason"), "at": last["at"],
                    "message": decision_message(app.status, last.get("reason"), locale)}
    return {
        "id": str(app.id), "status": app.status, "office_id": app.office_id, "service": app.service,
        "route": app.route, "policy_period_id": app.policy_period_id,
        "appointment_id": str(app.appointment_id),
        "hold_expires_at": iso(app.hold_expires_at, tz),
        "required_documents": [
            {"kind": k, "title": DOCUMENT_KINDS[k].title.render(locale), "per_party": DOCUMENT_KINDS[k].per_party}
            for k in app.documents_required if k in DOCUMENT_KINDS],
        "missing_documents": [{"kind": k, "party": p, "title": DOCUMENT_KINDS[k].title.render(locale)}
                              for k, p in missing if k in DOCUMENT_KINDS],
        "answers": app.answers,
        "documents": [document_body(app.id, d, locale) for d in documents],
        "decision": decision,
        "history": app.history,
        "appointment": appointment,
        "created_at": iso(app.created_at),
        "updated_at": iso(app.updated_at or app.created_at),
        "links": {"self": base, "documents": f"{base}/documents", "appointment": appointment["links"]["self"]},
    }


__all__ = ["APPLICATION_SCOPE", "ApplicationDraft", "PrereviewNotRequired", "ReviewRequest",
           "application_body", "new_application", "received_rows"]
