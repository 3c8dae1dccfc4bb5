"""The audit log: every clerk or admin action (who, what, when, which record, outcome)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Uuid
from sqlmodel import Field, SQLModel

from booking.db.models._base import utc_field


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_office_at", "office_id", "at"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True))
    at: datetime = utc_field(default_now=True)
    actor_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    actor_role: str = Field(sa_column=Column(String(16), nullable=False))
    office_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    # dotted names: "slot.update", "appointment.check_in", "party.reveal" ...
    action: str = Field(sa_column=Column(String(64), nullable=False))
    target_type: str = Field(sa_column=Column(String(32), nullable=False))
    target_id: str = Field(sa_column=Column(String(64), nullable=False))
    outcome: str = Field(default="ok", sa_column=Column(String(32), nullable=False))
    # never personal data: ids, counts, field names, old and new non-personal values
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
