"""The seat hold of a cross-province application: part of the appointment aggregate.

When the jurisdiction policy routes a couple to pre-review (预审), from either endpoint,
the booking write takes the seat as a ``pending_review`` appointment and inserts the
application row that holds it, in the same statement (``store.py``). From then on the
application's status follows its appointment wherever the appointment leaves
``pending_review`` (``lifecycle.py``: approved, rejected, withdrawn, expired), so the seat
and the application can never disagree. ``booking.applications`` (documents, the clerk's
queue, decisions) builds on this module; nothing here imports it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from booking.accounts.principal import Principal
from booking.db.models import CrossProvinceApplication
from booking.errors import Conflict
from booking.i18n import lazy
from booking.jurisdiction.policy import Assessment
from booking.notifications.outbox import OutboxRow, Recipients, messages
from booking.offices.directory import OfficeInfo
from booking.schemas import iso

APPLICATION_SCOPE = "application.create"  # of its Idempotency-Key
RECEIVED = "application.received"


class PrereviewNotRequired(Conflict):
    code = "prereview-not-required"
    title = lazy("This couple needs no pre-review here; book the appointment directly.")


@dataclass(slots=True)
class ReviewRequest:
    """What the application endpoint adds to a booking: the couple's answers, and how its
    answer is shaped (the application, with the appointment inside)."""

    answers: dict[str, Any]
    # (the application, its office, the appointment's body, the locale) -> the answer's body
    respond: Callable[[ApplicationDraft, OfficeInfo, Any, str], Any] = field(
        default=lambda _hold, _office, appointment, _locale: appointment)

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


def hold_until(since: datetime, hold_hours: int, starts_at: datetime) -> datetime:
    """The office's hold from ``since``, but never past the appointment itself."""
    return min(since + timedelta(hours=hold_hours), starts_at)


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


def move(app: CrossProvinceApplication, status: str, now: datetime, by: str, actor: Principal | None,
         reason: str | None = None) -> None:
    """An application's change of status, with its history entry; an office's decision
    keeps who decided and why."""
    app.status = status
    app.version += 1
    app.updated_at = now
    app.history = [*app.history, history_entry(status, now, by, reason)]
    if by == "office":
        app.decision_reason = reason
        app.decided_by = actor.id if actor else None
        app.decided_at = now


def follow_move(app: CrossProvinceApplication, new_start: datetime, hold_hours: int) -> None:
    """The appointment moved: the hold runs the office's hours from when it was placed,
    capped by the new start (not the old one, which a move to a later day would make the
    end of the hold)."""
    app.hold_expires_at = hold_until(app.created_at, hold_hours, new_start)


__all__ = ["APPLICATION_SCOPE", "ApplicationDraft", "PrereviewNotRequired", "ReviewRequest", "follow_move",
           "history_entry", "hold_until", "move", "new_application", "received_rows"]
