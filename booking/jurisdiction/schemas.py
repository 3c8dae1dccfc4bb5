"""Policy periods and the assessment at the HTTP boundary."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from booking.kernel.catalog import ServiceName
from booking.kernel.regions import is_province
from booking.parties.identity import IdType
from booking.schemas import ApiDate, Output, PlainText, RowId, Schema, invalid_value

# Services the law speaks of; divorce registration is policy data before it is bookable.
PolicyService = Literal["marriage_registration", "divorce_registration", "certificate_reissue"]
PolicyRule = Literal["local_hukou", "residence_permit", "nationwide"]
# the kinds a period may require ("other" is only for what a clerk asks besides)
RequiredKind = Literal["id_card", "household_register", "residence_permit", "no_spouse_declaration",
                       "identity_document"]


def _area(value: str) -> str:
    if not is_province(value[:2]):
        raise invalid_value("Must be a GB/T 2260 code of 2, 4 or 6 digits starting with a province.")
    return value


AreaCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}([0-9]{2}){0,2}$"), AfterValidator(_area)]


def _unique(value: list[str]) -> list[str]:
    if len(set(value)) != len(value):
        raise invalid_value("Each entry may be listed once.")
    return value


Documents = Annotated[list[RequiredKind], Field(max_length=10), AfterValidator(_unique)]
Areas = dict[PolicyService, Annotated[list[AreaCode], Field(max_length=400), AfterValidator(_unique)]]
PeriodCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), PlainText]
LegalBasis = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), PlainText]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000), PlainText]


class PeriodCreate(Schema):
    code: PeriodCode = Field(description="stable name, e.g. pilot-2021")
    title_zh: Title
    title_en: Title
    legal_basis: LegalBasis = ""
    effective_from: ApiDate
    effective_to: ApiDate | None = Field(default=None, description="inclusive; none = in force until changed")
    rule: PolicyRule = Field(description="local_hukou: only couples with a party's hukou in the office's "
                             "province; residence_permit: also couples with a party's residence permit issued "
                             "in the office's area; nationwide: any couple")
    documents_local: Documents = Field(default_factory=list)
    documents_nonlocal: Documents = Field(default_factory=list)
    prereview: bool = Field(default=True, description="a clerk pre-reviews couples with neither hukou local")
    areas: Areas = Field(description="per service, the GB/T 2260 provinces (2 digits) or cities (4) in scope")
    note: Note | None = None

    @model_validator(mode="after")
    def _dates(self) -> PeriodCreate:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise invalid_value("The end date must not be before the start date.")
        return self


class PeriodUpdate(Schema):
    """Only the fields given change; ``areas`` replaces the whole scope."""

    title_zh: Title | None = None
    title_en: Title | None = None
    legal_basis: LegalBasis | None = None
    effective_from: ApiDate | None = None
    effective_to: ApiDate | None = None
    rule: PolicyRule | None = None
    documents_local: Documents | None = None
    documents_nonlocal: Documents | None = None
    prereview: bool | None = None
    areas: Areas | None = None
    note: Note | None = None


class PeriodOut(Output):
    id: int
    code: str
    title: str
    title_zh: str
    title_en: str
    legal_basis: str
    effective_from: dt.date
    effective_to: dt.date | None
    rule: str
    documents_local: list[str]
    documents_nonlocal: list[str]
    prereview: bool
    areas: dict[str, list[str]]
    note: str | None
    updated_at: dt.datetime


class PeriodList(Output):
    data: list[PeriodOut]


class PartyHomeIn(Schema):
    hukou_province: Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]
    id_type: IdType = IdType.RESIDENT_ID


class AssessIn(Schema):
    office_id: RowId
    service: ServiceName
    date: ApiDate = Field(description="the appointment date")
    parties: Annotated[list[PartyHomeIn], Field(min_length=2, max_length=2)]
    residence_permit_division: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] | None = Field(
        default=None, description="where a party's residence permit was issued; null: neither holds one; "
        "leave out: not answered")


class DocumentRequirement(Output):
    kind: str
    title: str
    per_party: bool


class PeriodRef(Output):
    id: int | None
    code: str


class AssessOut(Output):
    may_register: bool
    prereview: bool
    reason: str | None
    documents: list[DocumentRequirement]
    period: PeriodRef | None
