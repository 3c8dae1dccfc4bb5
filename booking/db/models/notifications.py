"""The transactional outbox: one row per message to one recipient on one channel.

Rows commit in the same transaction as their cause; the sweep delivers them. The address
is not stored: it is resolved at send time from the account or the party (so no e-mail
address or phone number sits in the outbox, in Redis or in job arguments).

The primary key is the dedupe key: a UUIDv5 of what the message is (subject, kind,
sequence, channel, recipient), so writing the same message twice is refused by the key
itself, and one index fewer is maintained on the booking hot path.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, Integer, String, Text, Uuid, text
from sqlmodel import Field, SQLModel

from booking.db.models._base import utc_field
from booking.db.types import DateTimeUTC

NOTIFICATION_STATES = ("pending", "sent", "failed", "dropped", "cancelled")


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    __table_args__ = (
        CheckConstraint(f"state IN {NOTIFICATION_STATES}", name="ck_notification_state"),
        CheckConstraint("channel IN ('email', 'sms')", name="ck_notification_channel"),
        CheckConstraint("account_id IS NOT NULL OR party_id IS NOT NULL", name="ck_notification_recipient"),
        # the sweep: pending rows by their next attempt
        Index("ix_notification_next", "next_attempt_at", postgresql_where=text("state = 'pending'"),
              sqlite_where=text("state = 'pending'")),
        Index("ix_notification_subject", "subject_type", "subject_id"),
        # /metrics counts failed rows (few) without walking the sent history (many)
        Index("ix_notification_failed", "created_at", postgresql_where=text("state = 'failed'"),
              sqlite_where=text("state = 'failed'")),
    )

    id: uuid.UUID = Field(sa_column=Column(Uuid, primary_key=True))
    # "appointment.confirmed", "appointment.reminder", "signup.promoted", ...
    kind: str = Field(sa_column=Column(String(48), nullable=False))
    channel: str = Field(sa_column=Column(String(8), nullable=False))
    account_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    party_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    locale: str = Field(sa_column=Column(String(16), nullable=False))
    subject_type: str = Field(sa_column=Column(String(24), nullable=False))
    subject_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    # the subject's iCalendar SEQUENCE when this row was written
    sequence: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    due_at: datetime = Field(sa_column=Column(DateTimeUTC(), nullable=False))
    # a reminder is dropped, not sent late, once this has passed
    not_after: datetime | None = Field(default=None, sa_column=Column(DateTimeUTC(), nullable=True))
    state: str = Field(default="pending", sa_column=Column(String(10), nullable=False))
    # when the sweep should (re)enqueue it: the due time, then retries with backoff, and a
    # re-enqueue if a job was lost (a killed worker, a flushed Redis)
    next_attempt_at: datetime = Field(sa_column=Column(DateTimeUTC(), nullable=False))
    # a delivery in progress holds the row until then; a killed worker's lease runs out
    leased_until: datetime | None = Field(default=None, sa_column=Column(DateTimeUTC(), nullable=True))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_field(default_now=True)
    sent_at: datetime | None = utc_field(nullable=True)
