"""Appointments at the HTTP boundary (the fixed contract of DESIGN.md section 6)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from booking.kernel.catalog import ServiceName
from booking.parties.schemas import Parties, PartyOut, PartyRevealed
from booking.schemas import Output, PlainText, Schema

HolderField = Field(default=1, description="which party is the account holder (实名): the account is bound to "
                   "that person at its first booking and books for them only; ignored for walk-ins")


class AppointmentIn(Schema):
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


class AppointmentLinks(Output):
    self: str
    invite: str
    qr: str
    application: str | None = Field(default=None, description="the cross-province application holding the seat")


class AppointmentOut(Output):
    id: uuid.UUID
    code: str = Field(description="booking code for the counter (also in the QR code)")
    status: Literal["pending_review", "awaiting_party", "confirmed", "checked_in", "completed", "turned_away",
                    "no_show", "cancelled"]
    office_id: int
    service: str
    slot_id: int
    starts_at: AwareDatetime = Field(description="in the office's timezone")
    ends_at: AwareDatetime
    cancel_deadline: AwareDatetime
    channel: str
    sequence: int
    review_reason: str | None = None
    status_reason: str | None = Field(default=None,
                                      description="why it was turned away or cancelled by the office")
    parties: list[PartyOut]
    created_at: datetime
    links: AppointmentLinks


class AppointmentList(Output):
    data: list[AppointmentOut]
    total: int
    limit: int
    offset: int


class RosterEntry(Output):
    id: uuid.UUID
    code: str
    status: str
    service: str
    slot_id: int
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    channel: str
    parties: list[PartyOut]
    checked_in_at: datetime | None = None


class Roster(Output):
    office_id: int
    date: date
    data: list[RosterEntry]
    counts: dict[str, int]


class RevealOut(Output):
    appointment_id: uuid.UUID
    parties: list[PartyRevealed]
