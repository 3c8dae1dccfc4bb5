"""Cross-province applications (跨省通办申请) and their documents.

An application is one-to-one with the appointment that holds its seat: the appointment
stays ``pending_review`` (counted in ``slot.booked`` and in the one-active-booking index)
while the application is open, so no second seat counter exists.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Uuid,
    text,
)
from sqlmodel import Field, SQLModel

from booking.db.models._base import utc_field
from booking.db.types import DateTimeUTC

APPLICATION_STATUSES = ("submitted", "needs_more_info", "approved", "rejected", "withdrawn", "expired")
OPEN_STATUSES = ("submitted", "needs_more_info")
DOCUMENT_MEDIA_TYPES = ("application/pdf", "image/jpeg", "image/png")


class CrossProvinceApplication(SQLModel, table=True):
    __tablename__ = "cross_province_application"
    __table_args__ = (
        CheckConstraint(f"status IN {APPLICATION_STATUSES}", name="ck_cross_province_application_status"),
        # the clerk's queue: one office, by state, oldest first
        Index("ix_cross_province_application_queue", "office_id", "status", "created_at"),
        Index("ix_cross_province_application_account", "account_id", "created_at"),
        # the expiry sweep: open applications by the end of their hold
        Index("ix_cross_province_application_hold", "hold_expires_at",
              postgresql_where=text("status IN ('submitted', 'needs_more_info')"),
              sqlite_where=text("status IN ('submitted', 'needs_more_info')")),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True))
    appointment_id: uuid.UUID = Field(sa_column=Column(
        Uuid, ForeignKey("appointment.id", ondelete="CASCADE"), nullable=False, unique=True))
    office_id: int = Field(sa_column=Column(Integer, ForeignKey("office.id", ondelete="RESTRICT"), nullable=False))
    # the couple's account (None for a walk-in couple booked at the counter)
    account_id: uuid.UUID | None = Field(default=None, sa_column=Column(
        Uuid, ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True))
    service: str = Field(sa_column=Column(String(32), nullable=False))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    # why it is reviewed: "nonlocal", "residence_permit", "foreign_or_hmt"
    route: str = Field(sa_column=Column(String(32), nullable=False))
    policy_period_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("jurisdiction_period.id", ondelete="SET NULL"), nullable=True))
    # what the policy in force on the appointment date asked for, frozen at submission
    documents_required: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # the seat is held until then (the office's review_hold_hours, never past the start)
    hold_expires_at: datetime = Field(sa_column=Column(DateTimeUTC(), nullable=False))
    decision_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    decided_by: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    decided_at: datetime | None = utc_field(nullable=True)
    # raised on every change of state; notifications of the application carry it
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # [{"status", "at", "by": "couple"|"office"|"system", "reason"?}], oldest first
    history: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_field(default_now=True)
    updated_at: datetime = utc_field(default_now=True)


class ApplicationDocument(SQLModel, table=True):
    """A scan uploaded for an application. The file lives under the upload directory with a
    generated name (the row id); the client's file name is kept for display only."""

    __tablename__ = "application_document"
    __table_args__ = (
        CheckConstraint(f"media_type IN {DOCUMENT_MEDIA_TYPES}", name="ck_application_document_media_type"),
        CheckConstraint("party IS NULL OR party IN (1, 2)", name="ck_application_document_party"),
        Index("ix_application_document_application", "application_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True))
    application_id: uuid.UUID = Field(sa_column=Column(
        Uuid, ForeignKey("cross_province_application.id", ondelete="CASCADE"), nullable=False))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    party: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    media_type: str = Field(sa_column=Column(String(32), nullable=False))
    size_bytes: int = Field(sa_column=Column(Integer, nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    file_name: str = Field(sa_column=Column(String(100), nullable=False))
    uploaded_by: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    created_at: datetime = utc_field(default_now=True)
