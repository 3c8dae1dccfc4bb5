"""Events and sign-ups at the HTTP boundary."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from msgspec import Meta
from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints, WithJsonSchema

from booking.offices.schemas import Timezone
from booking.parties.schemas import Parties, PartyName, PartyOut, PartyRevealed
from booking.schemas import (
    DATE_RANGE,
    FIRST_DATE,
    INT_MAX,
    LAST_DATE,
    Answer,
    ApiDate,
    DecisionIn,
    OneLine,
    Output,
    Phone,
    RowId,
    Schema,
    check_date,
    invalid_value,
)

EventKind = Literal["collective", "charity", "memorial"]
SignupStatus = Literal["pending_approval", "confirmed", "waitlisted", "attended", "no_show", "rejected", "cancelled"]

# The shared bounds (booking/schemas.py): beyond them the database or the conversion to
# UTC would fail with a 500 instead of a 422.
MAX_ID = INT_MAX
OfficeId = RowId
Day = ApiDate
query_day = check_date


def _within_years(value: datetime) -> datetime:
    if not FIRST_DATE <= value.date() <= LAST_DATE:
        raise invalid_value(DATE_RANGE)
    return value


EventTime = Annotated[AwareDatetime, AfterValidator(_within_years)]


Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), OneLine]
OptTitle = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), OneLine]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), OneLine]
OptAddress = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300), OneLine]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# a number, or its decimal text, as the schema says (pydantic's own text pattern admits "")
Money = Annotated[Decimal, Field(gt=0, le=Decimal("100000000"), decimal_places=2,
                                 description="in yuan (CNY), at most two decimals"),
                  WithJsonSchema({"anyOf": [
                      {"type": "number", "exclusiveMinimum": 0, "maximum": 100000000, "multipleOf": 0.01},
                      {"type": "string",
                       "pattern": r"^\s*\+?0*([1-9][0-9]{0,7}(\.[0-9]{1,2})?|100000000(\.0{1,2})?)\s*$"}],
                      "description": "in yuan (CNY), at most two decimals"})]


class EligibilityIn(Schema):
    """The rules of the event's kind; fields of another kind are refused."""

    min_years_married: Annotated[int, Field(ge=1, le=80)] | None = Field(
        default=None, description="memorial: married at least this many years on the event date (required)")
    registered_within_months: Annotated[int, Field(ge=1, le=120)] | None = Field(
        default=None, description="collective: marriage registered within this many months before the event "
        "(default 12)")
    allow_upcoming_appointment: bool | None = Field(
        default=None, description="collective: a marriage registration booked here before the event also "
        "qualifies (default true)")
    max_age: Annotated[int, Field(ge=20, le=120)] | None = Field(
        default=None, description="collective: both parties at most this old on the event date")
    pledge_or_sponsor_required: bool | None = Field(
        default=None, description="charity: each couple gives a pledge or names a sponsor (default false)")


class EventCreate(Schema):
    office_id: OfficeId
    kind: EventKind
    title_zh: Title
    title_en: Title
    description_zh: Description = ""
    description_en: Description = ""
    venue_zh: Title
    venue_en: OptTitle = ""
    address_zh: Address
    address_en: OptAddress = ""
    timezone: Timezone | None = Field(default=None, description="the venue's; default: the office's")
    starts_at: EventTime
    ends_at: EventTime
    signup_opens_at: EventTime | None = Field(default=None, description="default: now")
    signup_closes_at: EventTime | None = Field(default=None, description="default: the start")
    capacity: Annotated[int, Field(ge=1, le=100_000, description="couples")]
    guests_per_couple: Annotated[int, Field(ge=0, le=50)] = 0
    guest_seats: Annotated[int, Field(ge=0, le=1_000_000)] | None = Field(
        default=None, description="total guest seats; default capacity × guests per couple")
    requires_approval: bool | None = Field(default=None, description="always true for charity weddings")
    waitlist_skip_unfit: bool = Field(
        default=False, description="promote past a waitlisted couple whose guests do not fit the free seats")
    eligibility: EligibilityIn = Field(default_factory=EligibilityIn)


class EventUpdate(Schema):
    title_zh: Title | None = None
    title_en: Title | None = None
    description_zh: Description | None = None
    description_en: Description | None = None
    venue_zh: Title | None = None
    venue_en: OptTitle | None = None
    address_zh: Address | None = None
    address_en: OptAddress | None = None
    starts_at: EventTime | None = None
    ends_at: EventTime | None = None
    signup_opens_at: EventTime | None = None
    signup_closes_at: EventTime | None = None
    capacity: Annotated[int, Field(ge=1, le=100_000)] | None = None
    guests_per_couple: Annotated[int, Field(ge=0, le=50)] | None = None
    guest_seats: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    requires_approval: bool | None = None
    waitlist_skip_unfit: bool | None = None
    eligibility: EligibilityIn | None = None


class EventCancelIn(Schema):
    reason: Reason


class EventLinks(Output):
    self: str
    signups: str
    feed: str


class EventOut(Output):
    id: uuid.UUID
    office_id: int
    kind: EventKind
    status: Literal["published", "cancelled"]
    title: str = Field(description="in the caller's language")
    title_zh: str
    title_en: str
    description: str
    venue: str
    address: str
    timezone: str
    starts_at: AwareDatetime = Field(description="in the venue's timezone")
    ends_at: AwareDatetime
    signup_opens_at: AwareDatetime
    signup_closes_at: AwareDatetime
    signup_open: bool
    capacity: int
    places_taken: int
    remaining_places: int
    guests_per_couple: int
    guest_seats: int
    remaining_guest_seats: int
    waitlisted: int
    requires_approval: bool
    waitlist_skip_unfit: bool
    eligibility: dict[str, object]
    sequence: int
    cancel_reason: str | None = None
    links: EventLinks


class EventList(Output):
    data: list[EventOut]
    total: int
    limit: int
    offset: int


# --- sign-ups ---------------------------------------------------------------------------


class ContactIn(Schema):
    name: PartyName
    phone: Phone


class PledgeIn(Schema):
    amount: Money
    cause: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class SponsorIn(Schema):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), OneLine]


class SignupCreate(Schema):
    parties: Parties
    marriage_date: Day | None = Field(default=None, description="where the event's eligibility needs it")
    guests: Annotated[int, Field(ge=0, le=50)] = 0
    contact: ContactIn | None = Field(default=None, description="who to reach by SMS; default: party 1")
    pledge: PledgeIn | None = Field(default=None, description="charity weddings: the couple's pledge")
    sponsor: SponsorIn | None = Field(default=None, description="charity weddings: the couple's sponsor")
    locale: Literal["zh_Hans_CN", "en"] | None = Field(
        default=None, description="language of notifications; default: the request's language")


class ContactOut(Answer):
    name: str
    phone: Annotated[str, Meta(description="masked")]


class PledgeOut(Answer):
    amount: Decimal
    cause: str


class SponsorOut(Answer):
    name: str


class SignupLinks(Answer):
    self: str
    event: str
    invite: str
    cancel: str


class SignupOut(Answer):
    id: uuid.UUID
    event_id: uuid.UUID
    office_id: int
    code: Annotated[str, Meta(description="shown at the venue's check-in desk")]
    status: SignupStatus
    waitlist_position: Annotated[int, Meta(description="1 = next to be promoted; only while waitlisted")] | None
    arrival_no: int
    guests: int
    marriage_date: date | None
    eligible_by: str | None
    parties: list[PartyOut]
    contact: ContactOut | None
    pledge: PledgeOut | None
    sponsor: SponsorOut | None
    decision_reason: str | None
    sequence: int
    created_at: datetime
    links: SignupLinks


class SignupList(Answer):
    data: list[SignupOut]
    total: int
    limit: int
    offset: int
    counts: Annotated[dict[str, int], Meta(description="sign-ups per state (organisers)")] = msgspec.field(
        default_factory=dict)


class SignupCancelIn(Schema):
    reason: Annotated[str, StringConstraints(max_length=200)] | None = None


class SignupDecisionIn(DecisionIn):
    decision: Literal["approve", "reject"]
    reason: Reason | None = Field(default=None, validate_default=True, description="required to reject")


class AttendanceIn(Schema):
    attended: bool


class SignupRevealOut(Answer):
    signup_id: uuid.UUID
    parties: list[PartyRevealed]
    contact_phone: str | None


class PledgeEntry(Answer):
    signup_id: uuid.UUID
    code: str
    status: str
    names: list[str]
    pledge: PledgeOut | None
    sponsor: SponsorOut | None


class PledgeList(Answer):
    event_id: uuid.UUID
    data: list[PledgeEntry]
    pledges: int
    sponsored: int
    total_pledged: Annotated[Decimal, Meta(description="every active sign-up's pledge, in yuan")]
    total_pledged_confirmed: Annotated[Decimal, Meta(description="of confirmed and attended couples only")]
