"""Divorce cases at the HTTP boundary."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from msgspec import Meta
from pydantic import Field, StringConstraints

from booking.appointments.schemas import AppointmentStatus
from booking.parties.identity import IdType
from booking.parties.schemas import PartyIn, PartyName
from booking.schemas import Answer, ProvinceCode, Schema


class NamedPartyIn(Schema):
    """The other spouse as the applicant names them: who they are, nothing of how to reach
    them (their contact is theirs to give, when they confirm with their own account)."""

    name: PartyName
    id_type: IdType = IdType.RESIDENT_ID
    id_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    hukou_province: ProvinceCode | None = None


class CaseCreate(Schema):
    slot_id: Annotated[int, Field(ge=1)] = Field(description="a `divorce_registration` slot: the application visit")
    applicant: PartyIn = Field(description="the account holder, with their own phone")
    other: NamedPartyIn = Field(description="the other spouse, who confirms with their own account")
    locale: Literal["zh_Hans_CN", "en"] | None = None


class ConfirmApplicationIn(Schema):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=16)] = Field(
        description="the application visit's booking code, from the other party")
    party: PartyIn = Field(description="the confirming party's own details: the ID number named in the booking, "
                           "their own phone")
    locale: Literal["zh_Hans_CN", "en"] | None = None


class VisitIn(Schema):
    slot_id: Annotated[int, Field(ge=1)]


class WithdrawIn(Schema):
    party: Literal[1, 2] | None = Field(default=None, description="at the counter: which party withdraws "
                                        "(their identity checked by the clerk); online it is the caller")


class ReceiptIn(Schema):
    marriage_certificate_checked: bool = Field(
        default=False, description="the clerk checked the marriage certificate (needed when the office holds "
        "no record of the marriage)")


class CasePartyOut(Answer, omit_defaults=True):
    """The other party of a couple shows no ID number nor phone (left out)."""

    position: int
    name: str
    id_number: Annotated[str, Meta(description="masked; only your own, or for the office")] | None = None
    phone: Annotated[str, Meta(description="masked; only your own, or for the office")] | None = None
    confirmed: bool


class VisitOut(Answer):
    appointment_id: uuid.UUID
    kind: Literal["application", "certificate"]
    code: str
    status: AppointmentStatus
    starts_at: Annotated[datetime, Meta(tz=True)]
    ends_at: Annotated[datetime, Meta(tz=True)]
    confirm_by: Annotated[datetime, Meta(tz=True)] | None = None
    awaiting: Annotated[Literal["you", "other_party"], Meta(
        description="whose confirmation the visit waits for (couples)")] | None = None


class CaseOut(Answer):
    id: uuid.UUID
    office_id: int
    state: Literal["awaiting_confirmation", "application_booked", "cooling_off", "certificate_window",
                   "registered", "withdrawn", "deemed_withdrawn", "ended"]
    received_on: date | None = None
    cooling_off_ends: Annotated[date, Meta(description="the last day either party may withdraw")] | None = None
    window_opens: date | None = None
    window_ends: Annotated[date, Meta(description="the last day of the certificate visit")] | None = None
    dates_provisional: bool = False
    marriage_record: str | None = None
    documents: list[str]
    next_step: str | None = None
    you: CasePartyOut | None = None
    other_party: CasePartyOut | None = None
    parties: Annotated[list[CasePartyOut], Meta(description="both parties (the office)")] | None = None
    ended_by: Annotated[int, Meta(description="the office only: which party withdrew")] | None = None
    ended_via: Annotated[str, Meta(description="the office only: online or at the counter")] | None = None
    visits: list[VisitOut]


class CaseList(Answer):
    data: list[CaseOut]
    total: int


class CasePartyRevealed(Answer):
    position: int
    name: str
    id_type: str
    id_number: str
    phone: Annotated[str, Meta(description="none when the other party has not confirmed yet")] | None


class CaseRevealOut(Answer):
    case_id: uuid.UUID
    parties: list[CasePartyRevealed]
