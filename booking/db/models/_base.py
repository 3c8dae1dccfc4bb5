"""Helpers shared by the table modules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field

from booking.db.types import DateTimeUTC


def utcnow() -> datetime:
    return datetime.now(UTC)


def utc_field(*, nullable: bool = False, default_now: bool = False, index: bool = False, **kw: Any) -> Any:
    """A UTC timestamp column (``timestamptz`` on PostgreSQL)."""
    column = Column(DateTimeUTC(), nullable=nullable, index=index)
    if default_now:
        return Field(default_factory=utcnow, sa_column=column, **kw)
    return Field(default=None, sa_column=column, **kw)
