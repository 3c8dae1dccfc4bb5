"""Idempotency records: the first answer to a creating request, by caller and key."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Integer, String, Uuid
from sqlmodel import Field, SQLModel

from booking.db.models._base import utc_field


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"

    owner_id: uuid.UUID = Field(sa_column=Column(Uuid, primary_key=True))
    key: str = Field(sa_column=Column(String(200), primary_key=True))
    # which endpoint, so one key cannot be replayed against another
    scope: str = Field(sa_column=Column(String(40), nullable=False))
    # keyed hash of the canonical request body (the body holds personal data)
    request_hash: str = Field(sa_column=Column(String(64), nullable=False))
    status_code: int = Field(sa_column=Column(Integer, nullable=False))
    response: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_field(default_now=True, index=True)
