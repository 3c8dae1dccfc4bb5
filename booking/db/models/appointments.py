"""Appointments (预约) and their two parties (当事人)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Uuid,
    text,
)
from sqlmodel import Field, SQLModel

from booking.db.models._base import BookedParty, utc_field
from booking.db.types import DateTimeUTC


class AppointmentStatus(StrEnum):
    """Who moves an appointment from which status to which: ``booking.appointments.services.lifecycle``."""

    PENDING_REVIEW = "pending_review"  # a seat held while a clerk pre-reviews (跨省通办)
    # a seat held until the other party confirms with their own account (a divorce visit)
    AWAITING_PARTY = "awaiting_party"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"  # registered: the one status that records a registration
    TURNED_AWAY = "turned_away"  # came, but could not be served (e.g. papers missing): not a no-show
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


APPOINTMENT_STATUSES = tuple(s.value for s in AppointmentStatus)
# These hold a seat (counted in ``slot.booked``) and their parties' one active booking per
# service (DESIGN.md 4.2); leaving them releases both.
ACTIVE_STATUSES = ("pending_review", "awaiting_party", "confirmed", "checked_in")
ACTIVE_SQL = f"account_id IS NOT NULL AND status IN {ACTIVE_STATUSES}"


class Appointment(SQLModel, table=True):
    __tablename__ = "appointment"
    __table_args__ = (
        CheckConstraint(f"status IN {APPOINTMENT_STATUSES}", name="ck_appointment_status"),
        CheckConstraint("channel IN ('online', 'counter')", name="ck_appointment_channel"),
        Index("ix_appointment_office_starts", "office_id", "starts_at"),
        Index("ix_appointment_account", "account_id", "starts_at"),
        # one active booking per account and service (walk-ins have no account)
        Index("uq_appointment_account_active", "account_id", "service", unique=True,
              postgresql_where=text(ACTIVE_SQL), sqlite_where=text(ACTIVE_SQL)),
        # the no-show sweep: confirmed appointments whose slot is over
        Index("ix_appointment_unchecked", "starts_at", postgresql_where=text("status = 'confirmed'"),
              sqlite_where=text("status = 'confirmed'")),
        # the reminder sweep: confirmed appointments whose next reminder is due
        Index("ix_appointment_remind_at", "remind_at", postgresql_where=text("remind_at IS NOT NULL"),
              sqlite_where=text("remind_at IS NOT NULL")),
        # The slot and its office, in one reference: the appointment's office is its slot's.
        # Not a reference to the office row: PostgreSQL checks one with a FOR KEY SHARE lock
        # on the referenced row, and every booking of an office would take it on the same
        # office row, whose lock concurrent bookings then rewrite one at a time (a MultiXact;
        # bench/parent_lock.py). The slot row is already the booking's (the seat's UPDATE):
        # checking the reference to it takes no new lock.
        ForeignKeyConstraint(["slot_id", "office_id"], ["slot.id", "slot.office_id"],
                             name="fk_appointment_slot_office", ondelete="RESTRICT"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True))
    # short human code for the counter: unambiguous characters, random, unique
    code: str = Field(sa_column=Column(String(12), nullable=False, unique=True))
    # both in ``fk_appointment_slot_office`` above
    office_id: int = Field(sa_column=Column(Integer, nullable=False))
    slot_id: int = Field(sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), nullable=False, index=True))
    service: str = Field(sa_column=Column(String(32), nullable=False))
    # the couple's account; None for a walk-in couple booked by a clerk
    account_id: uuid.UUID | None = Field(default=None, sa_column=Column(
        Uuid, ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True))
    booked_by: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    channel: str = Field(default="online", sa_column=Column(String(10), nullable=False))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    # copied from the slot (moves with a reschedule): the roster, reminders and invites read it
    starts_at: datetime = Field(sa_column=Column(DateTimeUTC(), nullable=False))
    ends_at: datetime = Field(sa_column=Column(DateTimeUTC(), nullable=False))
    locale: str = Field(default="zh_Hans_CN", sa_column=Column(String(16), nullable=False))
    # iCalendar SEQUENCE: raised on every change the couple's calendar must see
    sequence: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    review_reason: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    # why it ended as it did, as the clerk wrote it: a turn-away's reason, an office's cancellation
    status_reason: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    cancelled_by: str | None = Field(default=None, sa_column=Column(String(10), nullable=True))
    cancelled_at: datetime | None = utc_field(nullable=True)
    checked_in_at: datetime | None = utc_field(nullable=True)
    completed_at: datetime | None = utc_field(nullable=True)
    # when the parties' personal data was removed, a while after the appointment ended
    # (booking.ops.retention); the appointment's own facts stay
    anonymised_at: datetime | None = utc_field(nullable=True)
    # the moment of the next reminder not yet handed to the outbox, while confirmed (None:
    # no reminder left); reminders are derived from the start and the office's rules when
    # due (booking.appointments.services.reminders), not written as outbox rows at booking time
    remind_at: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field(default_now=True)
    updated_at: datetime = utc_field(default_now=True)


class AppointmentParty(BookedParty, table=True):
    __tablename__ = "appointment_party"
    __table_args__ = (
        CheckConstraint("position IN (1, 2)", name="ck_appointment_party_position"),
        # One active booking per person per service, enforced by the database on a keyed
        # hash of the ID number (DESIGN.md 4.2). ``active`` is never NULL.
        Index("uq_appointment_party_active", "id_hash", "service", unique=True,
              postgresql_where=text("active"), sqlite_where=text("active")),
        Index("ix_appointment_party_id_hash", "id_hash"),
        Index("uq_appointment_party_position", "appointment_id", "position", unique=True),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True))
    appointment_id: uuid.UUID = Field(sa_column=Column(
        Uuid, ForeignKey("appointment.id", ondelete="CASCADE"), nullable=False))
    service: str = Field(sa_column=Column(String(32), nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    # A party who takes part with an account of their own (both parties of a divorce): told
    # by that account and their own phone, in their own language. None: the booking
    # account and the first party's phone speak for the couple.
    account_id: uuid.UUID | None = Field(default=None, sa_column=Column(
        Uuid, ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True))
    locale: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
