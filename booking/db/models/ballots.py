"""Peak days an office adds, and the ballots (摇号) that allot a peak day's seats.

A ballot belongs to one office, date and service. Couples enter during its window; at the
draw the entries are put in an order that follows from the revealed seed alone (see
``booking.ballots.order``), the first ones get the day's seats as confirmed appointments
and the others wait in that order.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
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

BALLOT_STATES = ("open", "drawn")
ENTRY_STATES = ("entered", "won", "waitlisted", "withdrawn", "lapsed")


class OfficePeakDay(SQLModel, table=True):
    """A date an office treats as a peak day besides the national ones (5·20, 七夕, 2·14)."""

    __tablename__ = "office_peak_day"
    __table_args__ = (UniqueConstraint("office_id", "day", name="uq_office_peak_day"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    office_id: int = Field(sa_column=Column(Integer, ForeignKey("office.id", ondelete="CASCADE"), nullable=False))
    day: date = Field(sa_column=Column(Date, nullable=False, index=True))
    name_zh: str = Field(sa_column=Column(String(100), nullable=False))
    name_en: str = Field(default="", sa_column=Column(String(100), nullable=False))
    created_at: datetime = utc_field(default_now=True)


class Ballot(SQLModel, table=True):
    __tablename__ = "ballot"
    __table_args__ = (
        CheckConstraint(f"state IN {BALLOT_STATES}", name="ck_ballot_state"),
        CheckConstraint("entry_opens_at < entry_closes_at AND entry_closes_at <= draw_at", name="ck_ballot_times"),
        UniqueConstraint("office_id", "service", "day", name="uq_ballot_office_service_day"),
        # the worker's question: which ballots are due for their draw
        Index("ix_ballot_due", "draw_at", postgresql_where=text("state = 'open'"),
              sqlite_where=text("state = 'open'")),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True))
    office_id: int = Field(sa_column=Column(Integer, ForeignKey("office.id", ondelete="CASCADE"), nullable=False))
    service: str = Field(sa_column=Column(String(32), nullable=False))
    day: date = Field(sa_column=Column(Date, nullable=False))
    entry_opens_at: datetime = utc_field()
    entry_closes_at: datetime = utc_field()
    draw_at: datetime = utc_field()
    # open: taking entries or waiting for its draw; drawn: the draw has run (exactly once)
    state: str = Field(default="open", sa_column=Column(String(10), nullable=False, server_default="open"))
    # The seed is drawn at set-up and kept encrypted; its SHA-256 is public from the start,
    # the seed itself only from the draw on.
    seed_enc: str = Field(sa_column=Column(Text, nullable=False))
    seed_commitment: str = Field(sa_column=Column(String(64), nullable=False))
    seed: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    # the seats the draw allotted (the day's free seats at that moment), in all and per
    # local start time ({"09:00": 5, ...}): published for checking the draw
    capacity: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    seats: dict[str, int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    drawn_at: datetime | None = utc_field(nullable=True)
    # the clerk who ran it by hand; None when the worker ran it at its moment
    drawn_by: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    created_by: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    created_at: datetime = utc_field(default_now=True)


class BallotEntry(SQLModel, table=True):
    __tablename__ = "ballot_entry"
    __table_args__ = (
        CheckConstraint(f"state IN {ENTRY_STATES}", name="ck_ballot_entry_state"),
        CheckConstraint("draw_result IS NULL OR draw_result IN ('won', 'waitlisted')",
                        name="ck_ballot_entry_draw_result"),
        # an account enters a ballot once (again only after withdrawing)
        Index("uq_ballot_entry_account", "ballot_id", "account_id", unique=True,
              postgresql_where=text("state <> 'withdrawn'"), sqlite_where=text("state <> 'withdrawn'")),
        # the draw reads a ballot's entries; promotions walk its waitlist in draw order
        Index("ix_ballot_entry_order", "ballot_id", "state", "rank"),
        Index("ix_ballot_entry_account", "account_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True))
    ballot_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("ballot.id", ondelete="CASCADE"), nullable=False))
    account_id: uuid.UUID = Field(sa_column=Column(
        Uuid, ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False))
    state: str = Field(default="entered", sa_column=Column(String(12), nullable=False))
    # local start times ("09:00") of the day's slots the couple can take; None: any
    times: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    locale: str = Field(default="zh_Hans_CN", sa_column=Column(String(16), nullable=False))
    # set by the draw and never changed after: the place in the draw order (1 = first)
    # and what the draw gave (promotions later change ``state``, not this)
    rank: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    draw_result: str | None = Field(default=None, sa_column=Column(String(10), nullable=True))
    appointment_id: uuid.UUID | None = Field(default=None, sa_column=Column(
        Uuid, ForeignKey("appointment.id", ondelete="SET NULL"), nullable=True))
    created_at: datetime = utc_field(default_now=True)
    updated_at: datetime = utc_field(default_now=True)


class BallotEntryParty(BookedParty, table=True):
    """A party of an entry, stored as an appointment's party is (encrypted, hashed, masked).

    ``active`` holds the person while the entry may still become an appointment. One active
    entry or booking per person and service: this table's partial unique index keeps one
    active entry, and a trigger on it and on ``appointment_party`` refuses an active row
    in one table while the other holds one (created by the ballots migration)."""

    __tablename__ = "ballot_entry_party"
    __table_args__ = (
        CheckConstraint("position IN (1, 2)", name="ck_ballot_entry_party_position"),
        Index("uq_ballot_entry_party_active", "id_hash", "service", unique=True,
              postgresql_where=text("active"), sqlite_where=text("active")),
        Index("uq_ballot_entry_party_position", "entry_id", "position", unique=True),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True))
    entry_id: uuid.UUID = Field(sa_column=Column(
        Uuid, ForeignKey("ballot_entry.id", ondelete="CASCADE"), nullable=False))
    service: str = Field(sa_column=Column(String(32), nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
