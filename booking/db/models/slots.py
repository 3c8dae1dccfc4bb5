"""Slots (号源): one bookable window of one office for one service."""

from __future__ import annotations

from datetime import date, datetime

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


class Slot(SQLModel, table=True):
    __tablename__ = "slot"
    __table_args__ = (
        # The capacity invariant, backed by the database (DESIGN.md 4.1).
        CheckConstraint("booked >= 0 AND booked <= capacity", name="ck_slot_capacity"),
        CheckConstraint("capacity >= 0", name="ck_slot_capacity_nonnegative"),
        # closed: by a clerk, one slot; day_closed: by a closure of its date (reopened with it)
        CheckConstraint("status IN ('open', 'closed', 'day_closed')", name="ck_slot_status"),
        CheckConstraint("starts_at < ends_at", name="ck_slot_order"),
        # generation is idempotent on this key
        UniqueConstraint("office_id", "service", "starts_at", name="uq_slot_office_service_start"),
        # the availability read: one office, one service, a range of local dates
        Index("ix_slot_availability", "office_id", "service", "local_date", "starts_at"),
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
    created_at: datetime = utc_field(default_now=True)
