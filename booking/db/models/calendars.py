"""Calendar feed subscriptions: a secret URL per couple or per office roster."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, Uuid
from sqlmodel import Field, SQLModel

from booking.db.models._base import utc_field


class CalendarFeed(SQLModel, table=True):
    __tablename__ = "calendar_feed"
    __table_args__ = (
        CheckConstraint("kind IN ('couple', 'roster')", name="ck_calendar_feed_kind"),
        CheckConstraint("kind <> 'roster' OR office_id IS NOT NULL", name="ck_calendar_feed_roster_office"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True))
    kind: str = Field(sa_column=Column(String(10), nullable=False))
    owner_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("user_account.id", ondelete="CASCADE"),
                                                 nullable=False, index=True))
    office_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("office.id", ondelete="CASCADE"),
                                                                 nullable=True))
    # SHA-256 of the secret token: the token itself is shown once and never stored
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    created_at: datetime = utc_field(default_now=True)
    revoked_at: datetime | None = utc_field(nullable=True)
