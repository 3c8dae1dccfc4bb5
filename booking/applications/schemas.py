"""Cross-province applications at the HTTP boundary."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar.datastructures import UploadFile
from msgspec import Meta
from pydantic import AfterValidator, Field, StringConstraints

from booking.appointments.schemas import AppointmentOut, HolderField
from booking.kernel.catalog import ServiceName
from booking.kernel.regions import is_province
from booking.parties.schemas import Parties
from booking.schemas import Answer, DecisionIn, PlainText, RowId, Schema, invalid_value


def _division(value: str) -> str:
    if not is_province(value[:2]):
        raise invalid_value("Must be a six-digit GB/T 2260 division code.")
    return value


class ResidencePermitIn(Schema):
    party: Literal[1, 2] = Field(description="the party (1 or 2) who holds the residence permit (居住证)")
    division_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$"), AfterValidator(_division)] = Field(
        description="GB/T 2260 division where the permit was issued")


Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), PlainText]


class AnswersIn(Schema):
    residence_permit: ResidencePermitIn | None = Field(
        default=None, description="needed where the policy in force admits couples with a residence permit; "
        "null: neither party holds one here")
    note: Note | None = Field(default=None, description="anything the couple wants the clerk to know")


class ApplicationCreate(Schema):
    slot_id: RowId = Field(description="its seat is held for the couple during the review")
    service: ServiceName
    parties: Parties
    holder: Literal[1, 2] = HolderField
    answers: AnswersIn = Field(default_factory=AnswersIn)
    locale: Literal["zh_Hans_CN", "en"] | None = Field(
        default=None, description="language of notifications; default: the request's language")


Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000), PlainText]


class ApplicationDecisionIn(DecisionIn):
    decision: Literal["approve", "reject", "needs_more_info"]
    reason: Reason | None = Field(default=None, validate_default=True,
                                  description="shown to the couple as written; required unless approving")


class ResubmitIn(Schema):
    note: Note | None = None


@dataclass
class DocumentUpload:
    """multipart/form-data: the file, what it is, and whose (1 or 2; per-party kinds)."""

    file: UploadFile
    kind: str
    party: str | None = None


class Requirement(Answer):
    kind: str
    title: str
    per_party: bool


class Missing(Answer):
    kind: str
    party: int | None
    title: str


class DocumentLinks(Answer):
    content: str


class DocumentOut(Answer):
    id: uuid.UUID
    kind: str
    title: str
    party: int | None
    media_type: str
    size_bytes: int
    file_name: Annotated[str, Meta(description="the name the file was uploaded with (display only)")]
    created_at: datetime
    links: DocumentLinks


class Decision(Answer):
    status: str
    reason: Annotated[str, Meta(description="the clerk's words, as written")] | None
    message: Annotated[str, Meta(description="the decision in the caller's language, with the reason")] | None
    at: datetime


class HistoryEntry(Answer, omit_defaults=True):
    status: str
    at: datetime
    by: Literal["couple", "office", "system"]
    reason: str | None = None


class ApplicationLinks(Answer):
    self: str
    documents: str
    appointment: str


class ApplicationOut(Answer):
    id: uuid.UUID
    status: Literal["submitted", "needs_more_info", "approved", "rejected", "withdrawn", "expired"]
    office_id: int
    service: str
    route: Annotated[str, Meta(description="why it is reviewed: nonlocal, residence_permit or foreign_or_hmt")]
    policy_period_id: int | None
    appointment_id: uuid.UUID
    hold_expires_at: Annotated[datetime, Meta(description="the held seat is released then unless decided",
                                              tz=True)]
    required_documents: list[Requirement]
    missing_documents: list[Missing]
    answers: dict[str, Any]
    documents: list[DocumentOut]
    decision: Decision | None
    history: list[HistoryEntry]
    appointment: AppointmentOut
    created_at: datetime
    updated_at: datetime
    links: ApplicationLinks


class ApplicationList(Answer):
    data: list[ApplicationOut]
    total: int
    limit: int
    offset: int
