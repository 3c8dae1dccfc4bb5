"""Divorce cases at the HTTP boundary."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from booking.parties.identity import IdType
from booking.parties.schemas import PartyIn, PartyName
from booking.schemas import Output, ProvinceCode, Schema


class NamedParty(Schema):
    """The other spouse as the applicant names them: who they are, nothing of how to reach
    them (their contact is theirs to give, when they confirm with their own account)."""

    name: PartyName
    id_type: IdType = IdType.RESIDENT_ID
    id_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    hukou_province: ProvinceCode | None = None


class CaseIn(Schema):
    slot_id: Annotated[int, Field(ge=1)] = Field(description="a `divorce_registration` slot: the application visit")
    applicant: PartyIn = Field(description="the account holder, with their own phone")
    other: NamedParty = Field(description="the other spouse, who confirms with their own account")
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


class CasePartyOut(Output):
    position: int
    name: str
    id_number: str | None = Field(default=None, description="masked; only your own, or for the office")
    phone: str | None = Field(default=None, description="masked; only your own, or for the office")
    confirmed: bool


class VisitOut(Output):
    appointment_id: uuid.UUID
    kind: Literal["application", "certificate"]
    code: str
    status: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    confirm_by: AwareDatetime | None = None
    awaiting: Literal["you", "other_party"] | None = Field(
        default=None, description="whose confirmation the visit waits for (couples)")


class CaseOut(Output):
    id: uuid.UUID
    office_id: int
    state: Literal["awaiting_confirmation", "application_booked", "cooling_off", "certificate_window",
                   "registered", "withdrawn", "deemed_withdrawn", "ended"]
    received_on: date | None = None
    cooling_off_ends: date | None = Field(default=None, description="the last day either party may withdraw")
    window_opens: date | None = None
    window_ends: date | None = Field(default=None, description="the last day of the certificate visit")
    dates_provisional: bool = False
    marriage_record: str | None = None
    documents: list[str]
    next_step: str | None = None
    you: CasePartyOut | None = None
    other_party: CasePartyOut | None = None
    parties: list[CasePartyOut] | None = Field(default=None, description="both parties (the office)")
    ended_by: int | None = Field(default=None, description="the office only: which party withdrew")
    ended_via: str | None = Field(default=None, description="the office only: online or at the counter")
    visits: list[VisitOut]


class CaseList(Output):
    data: list[CaseOut]
    total: int


class CaseRevealOut(Output):
    case_id: uuid.UUID
    parties: list[dict[str, str | int | None]]
