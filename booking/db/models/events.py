"""Wedding events (活动: 集体婚礼, 慈善婚礼, 纪念婚礼), their sign-ups (报名) and the parties of each.

The event row carries the counters its limits are guarded on (DESIGN.md 4.1): places and
guest seats held, the waitlist's length and the arrival ticket. Every change to them runs
with the event row locked, and CHECK constraints back the limits.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlmodel import Field, SQLModel

from booking.db.models._base import BookedParty, utc_field
from booking.db.types import DateTimeUTC

EVENT_KINDS = ("collective", "charity", "memorial")
EVENT_STATUSES = ("published", "cancelled")
SIGNUP_STATUSES = ("pending_approval", "confirmed", "waitlisted", "attended", "no_show", "rejected", "cancelled")
# Sign-ups that hold one of the event's places (and their guests' seats).
HOLDING_STATUSES = ("pending_approval", "confirmed", "attended", "no_show")
# A person is in at most one sign-up of an event in these states (the parties' ``active``).
ACTIVE_SIGNUP_STATUSES = (*HOLDING_STATUSES, "waitlisted")


class Event(SQLModel, table=True):
    __tablename__ = "event"
    __table_args__ = (
        CheckConstraint(f"kind IN {EVENT_KINDS}", name="ck_event_kind"),
        CheckConstraint(f"status IN {EVENT_STATUSES}", name="ck_event_status"),
        # The two limits of DESIGN.md 4.1, backed by the database.
        CheckConstraint("places_taken >= 0 AND places_taken <= capacity", name="ck_event_places"),
        CheckConstraint("guest_seats_taken >= 0 AND guest_seats_taken <= guest_seats", name="ck_event_guest_seats"),
        CheckConstraint("waitlisted >= 0 AND arrivals >= 0", name="ck_event_waitlist"),
        CheckConstraint("guests_per_couple >= 0", name="ck_event_guests_per_couple"),
        CheckConstraint("starts_at < ends_at", name="ck_event_order"),
        CheckConstraint("signup_opens_at < signup_closes_at", name="ck_event_signup_window"),
        CheckConstraint("kind <> 'charity' OR requires_approval", name="ck_event_charity_approval"),
        Index("ix_event_office_starts", "office_id", "starts_at"),
        Index("ix_event_starts", "starts_at"),
        Index("ix_event_starts_on", "starts_on"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True))
    office_id: int = Field(sa_column=Column(Integer, ForeignKey("office.id", ondelete="RESTRICT"), nullable=False))
    kind: str = Field(sa_column=Column(String(12), nullable=False))
    status: str = Field(default="published", sa_column=Column(String(12), nullable=False))
    title_zh: str = Field(sa_column=Column(String(200), nullable=False))
    title_en: str = Field(sa_column=Column(String(200), nullable=False))
    description_zh: str = Field(default="", sa_column=Column(Text, nullable=False))
    description_en: str = Field(default="", sa_column=Column(Text, nullable=False))
    venue_zh: str = Field(sa_column=Column(String(200), nullable=False))
    venue_en: str = Field(default="", sa_column=Column(String(200), nullable=False))
    address_zh: str = Field(sa_column=Column(String(300), nullable=False))
    address_en: str = Field(default="", sa_column=Column(String(300), nullable=False))
    # the venue's timezone: times are shown, and the "event date" of eligibility is taken, there
    timezone: str = Field(default="Asia/Shanghai", sa_column=Column(String(64), nullable=False))
    starts_at: datetime = Field(sa_column=Column(DateTimeUTC(), nullable=False))
    ends_at: datetime = Field(sa_column=Column(DateTimeUTC(), nullable=False))
    # the date it starts on in its own timezone (the public listing's from/to compare it):
    # computed from starts_at and timezone, stored because SQLite has no timezone arithmetic
    starts_on: date = Field(sa_column=Column(Date, nullable=False))
    signup_opens_at: datetime = Field(sa_column=Column(DateTimeUTC(), nullable=False))
    signup_closes_at: datetime = Field(sa_column=Column(DateTimeUTC(), nullable=False))
    capacity: int = Field(sa_column=Column(Integer, nullable=False))  # couples
    places_taken: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    guests_per_couple: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    guest_seats: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    guest_seats_taken: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    waitlisted: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # the arrival ticket: every sign-up draws the next number under the row lock; the
    # waitlist is promoted in this order
    arrivals: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    requires_approval: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    # when the couple at the head of the waitlist brings more guests than the free seats:
    # false = everyone waits behind them (strict order), true = the next couple that fits goes first
    waitlist_skip_unfit: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    # the kind's eligibility rules as data (booking.events.eligibility)
    eligibility: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # iCalendar SEQUENCE of the event (feed); a sign-up's invite adds its own
    sequence: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    cancel_reason: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    cancelled_at: datetime | None = utc_field(nullable=True)
    created_by: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    created_at: datetime = utc_field(default_now=True)
    updated_at: datetime = utc_field(default_now=True)


class Signup(SQLModel, table=True):
    __tablename__ = "signup"
    __table_args__ = (
        CheckConstraint(f"status IN {SIGNUP_STATUSES}", name="ck_signup_status"),
        CheckConstraint("guests >= 0", name="ck_signup_guests"),
        CheckConstraint("pledge_amount_fen IS NULL OR pledge_amount_fen > 0", name="ck_signup_pledge"),
        UniqueConstraint("event_id", "arrival_no", name="uq_signup_arrival"),
        # the waitlist (in arrival order) and the counts per state
        Index("ix_signup_event_status", "event_id", "status", "arrival_no"),
        Index("ix_signup_account", "account_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True))
    event_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("event.id", ondelete="RESTRICT"), nullable=False))
    office_id: int = Field(sa_column=Column(Integer, ForeignKey("office.id", ondelete="RESTRICT"), nullable=False))
    # short code shown at the venue's check-in desk (same alphabet as appointment codes)
    code: str = Field(sa_column=Column(String(12), nullable=False, unique=True))
    account_id: uuid.UUID | None = Field(default=None, sa_column=Column(
        Uuid, ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    arrival_no: int = Field(sa_column=Column(Integer, nullable=False))
    guests: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    # what eligibility was decided on: the date the couple gave, or this service's record
    marriage_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    eligible_by: str | None = Field(default=None, sa_column=Column(String(24), nullable=True))
    # charity weddings: a couple's pledge (their wedding budget, to a cause) or their sponsor
    pledge_amount_fen: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    pledge_cause: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    sponsor_name: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    # an optional contact other than the parties (often a son or daughter for a golden wedding)
    contact_name: str | None = Field(default=None, sa_column=Column(String(50), nullable=True))
    contact_phone_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    contact_phone_hash: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    contact_phone_masked: str | None = Field(default=None, sa_column=Column(String(24), nullable=True))
    locale: str = Field(default="zh_Hans_CN", sa_column=Column(String(16), nullable=False))
    # iCalendar SEQUENCE of the sign-up's own changes (the invite adds the event's)
    sequence: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    decision_reason: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    decided_by: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    decided_at: datetime | None = utc_field(nullable=True)
    promoted_at: datetime | None = utc_field(nullable=True)
    cancelled_by: str | None = Field(default=None, sa_column=Column(String(10), nullable=True))
    cancelled_at: datetime | None = utc_field(nullable=True)
    checked_in_at: datetime | None = utc_field(nullable=True)
    # when the personal data was removed, a while after the sign-up ended (booking.ops.retention)
    anonymised_at: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field(default_now=True)
    updated_at: datetime = utc_field(default_now=True)


class SignupParty(BookedParty, table=True):
    __tablename__ = "signup_party"
    __table_args__ = (
        CheckConstraint("position IN (1, 2)", name="ck_signup_party_position"),
        # A person is in at most one active sign-up per event, whoever they sign up with:
        # a partial unique index on the keyed hash of the ID number (DESIGN.md 4.2).
        Index("uq_signup_party_active", "event_id", "id_hash", unique=True,
              postgresql_where=text("active"), sqlite_where=text("active")),
        Index("uq_signup_party_position", "signup_id", "position", unique=True),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True))
    signup_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("signup.id", ondelete="CASCADE"), nullable=False))
    event_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
