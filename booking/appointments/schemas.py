"""Appointments at the HTTP boundary (the fixed contract of DESIGN.md section 6)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from msgspec import Meta
from pydantic import Field, StringConstraints

from booking.kernel.catalog import ServiceName
from booking.offices.directory import OfficeInfo
from booking.parties.schemas import Parties, PartyOut, PartyRevealed
from booking.schemas import Answer, PlainText, Schema, local

HolderField = Field(default=1, description="which party is the account holder (实名): the account is bound to "
                   "that person at its first booking and books for them only; ignored for walk-ins")


class AppointmentCreate(Schema):
    slot_id: Annotated[int, Field(ge=1)]
    service: ServiceName
    parties: Parties
    holder: Literal[1, 2] = HolderField
    locale: Literal["zh_Hans_CN", "en"] | None = Field(
        default=None, description="language of notifications; default: the request's language")


class RescheduleIn(Schema):
    slot_id: Annotated[int, Field(ge=1)]


Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), PlainText]


class CancelIn(Schema):
    reason: Reason | None = None


class TurnAwayIn(Schema):
    reason: Annotated[Reason, StringConstraints(min_length=1)] = Field(
        description="shown to the couple as written, e.g. the document that was missing")


class RevealIn(Schema):
    reason: Annotated[Reason, StringConstraints(min_length=1)] = Field(
        description="why the full numbers are needed, kept in the audit log")


class AppointmentLinks(Answer, omit_defaults=True):
    self: str
    invite: str
    qr: str
    application: Annotated[str, Meta(description="the cross-province application holding the seat")] | None = None


AppointmentStatus = Literal["pending_review", "awaiting_party", "confirmed", "checked_in", "completed", "turned_away",
                            "no_show", "cancelled"]


class AppointmentOut(Answer):
    id: uuid.UUID
    code: Annotated[str, Meta(description="booking code for the counter (also in the QR code)")]
    status: AppointmentStatus
    office_id: int
    service: str
    slot_id: int
    starts_at: Annotated[datetime, Meta(description="in the office's timezone", tz=True)]
    ends_at: Annotated[datetime, Meta(tz=True)]
    cancel_deadline: Annotated[datetime, Meta(tz=True)]
    channel: str
    sequence: int
    review_reason: str | None = None
    status_reason: Annotated[str, Meta(description="why it was turned away or cancelled by the office")] | None = None
    parties: list[PartyOut]
    created_at: datetime
    links: AppointmentLinks

    @classmethod
    def of(cls, *, id: uuid.UUID, code: str, status: str, office: OfficeInfo, service: str, slot_id: int,
           starts_at: datetime, ends_at: datetime, channel: str, sequence: int, review_reason: str | None,
           parties: list[PartyOut], created_at: datetime, application_id: uuid.UUID | None = None,
           status_reason: str | None = None) -> AppointmentOut:
        """The one shape of an appointment, from its facts (the booking hot path has no ORM
        object) and its office (times in the office's timezone, the cancel deadline by its rules)."""
        tz = office.tz
        base = f"/api/v1/appointments/{id}"
        links = AppointmentLinks(self=base, invite=f"{base}/invite.ics", qr=f"{base}/qr.svg", application=(
            f"/api/v1/cross-province-applications/{application_id}" if application_id is not None else None))
        return cls(id=id, code=code, status=status, office_id=office.id,  # type: ignore[arg-type]
                   service=service, slot_id=slot_id, starts_at=local(starts_at, tz), ends_at=local(ends_at, tz),
                   cancel_deadline=local(office.rules.cancel_deadline(starts_at), tz), channel=channel,
                   sequence=sequence, review_reason=review_reason, status_reason=status_reason, parties=parties,
                   created_at=local(created_at), links=links)


class AppointmentList(Answer):
    data: list[AppointmentOut]
    total: int
    limit: int
    offset: int


class RosterEntry(Answer):
    id: uuid.UUID
    code: str
    status: AppointmentStatus
    service: str
    slot_id: int
    starts_at: Annotated[datetime, Meta(tz=True)]
    ends_at: Annotated[datetime, Meta(tz=True)]
    channel: str
    parties: list[PartyOut]
    checked_in_at: datetime | None = None


class Roster(Answer):
    office_id: int
    date: date
    data: list[RosterEntry]
    counts: dict[str, int]


class AppointmentRevealOut(Answer):
    appointment_id: uuid.UUID
    parties: list[PartyRevealed]
