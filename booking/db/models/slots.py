"""Slots (号源): one bookable window of one office for one service."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from booking.db.models._base import utc_field
from booking.db.types import DateTimeUTC


class ClosedReason(StrEnum):
    CLERK = "clerk"  # one slot, by a clerk (a clerk may reopen it, unless its day is closed)
    CLOSURE = "closure"  # a closure of its date (removing the closure reopens it)
    OPENING_REMOVED = "opening_removed"  # its special opening was removed (adding it again reopens it)


CLOSED_REASONS = tuple(r.value for r in ClosedReason)


class Slot(SQLModel, table=True):
    __tablename__ = "slot"
    __table_args__ = (
        # The capacity invariant, backed by the database (DESIGN.md 4.1).
        CheckConstraint("booked >= 0 AND booked <= capacity", name="ck_slot_capacity"),
        CheckConstraint("capacity >= 0", name="ck_slot_capacity_nonnegative"),
        CheckConstraint("status IN ('open', 'closed')", name="ck_slot_status"),
        # a closed slot remembers who closed it, so that each undo reopens exactly its own
        CheckConstraint(f"closed_reason IN {CLOSED_REASONS}", name="ck_slot_closed_reason"),
        CheckConstraint("(status = 'open') = (closed_reason IS NULL)", name="ck_slot_closed_has_reason"),
        CheckConstraint("starts_at < ends_at", name="ck_slot_order"),
        # generation is idempotent on this key
        UniqueConstraint("office_id", "service", "starts_at", name="uq_slot_office_service_start"),
        # the availability read: one office, one service, a range of local dates
        Index("ix_slot_availability", "office_id", "service", "local_date", "starts_at"),
        # what an appointment's (slot, office) references (``fk_appointment_slot_office``)
        Index("uq_slot_id_office", "id", "office_id", unique=True),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True))
    office_id: int = Field(sa_column=Column(Integer, ForeignKey("office.id", ondelete="CASCADE"), nullable=False))
    service: str = Field(sa_column=Column(String(32), nullable=False))
    # the date in the office's timezone; kept so that the availability read needs no tz maths
    local_date: date = Field(sa_column=Column(Date, nullable=False))
    starts_at: datetime = Field(sa_column=Column(DateTimeUTC(), nullable=False))
    ends_at: datetime = Field(sa_column=Column(DateTimeUTC(), nullable=False))
    capacity: int = Field(sa_column=Column(Integer, nullable=False))
    booked: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    status: str = Field(default="open", sa_column=Column(String(10), nullable=False, server_default="open"))
    closed_reason: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    # the special opening whose own window this slot is (None: the weekly schedule's)
    office_day_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("office_day.id", ondelete="SET NULL"), nullable=True, index=True))
    created_at: datetime = utc_field(default_now=True)
