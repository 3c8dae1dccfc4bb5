"""An office's weekly schedule (排班) and its date exceptions (停办 / 特别开放日)."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Time,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel


class ScheduleWindow(SQLModel, table=True):
    """One time window on one weekday, with a capacity per service."""

    __tablename__ = "schedule_window"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 1 AND 7", name="ck_schedule_window_weekday"),
        CheckConstraint("start_time < end_time", name="ck_schedule_window_order"),
        UniqueConstraint("office_id", "weekday", "start_time", name="uq_schedule_window_start"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    office_id: int = Field(sa_column=Column(Integer, ForeignKey("office.id", ondelete="CASCADE"), nullable=False))
    weekday: int = Field(sa_column=Column(SmallInteger, nullable=False))  # ISO: 1 = Monday
    start_time: time = Field(sa_column=Column(Time, nullable=False))
    end_time: time = Field(sa_column=Column(Time, nullable=False))
    capacities: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class OfficeDay(SQLModel, table=True):
    """A closure or a special opening of one office on one date."""

    __tablename__ = "office_day"
    __table_args__ = (
        CheckConstraint("kind IN ('closure', 'special_opening')", name="ck_office_day_kind"),
        UniqueConstraint("office_id", "day", name="uq_office_day"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    office_id: int = Field(sa_column=Column(Integer, ForeignKey("office.id", ondelete="CASCADE"), nullable=False))
    day: date = Field(sa_column=Column(Date, nullable=False))
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    note: str = Field(default="", sa_column=Column(String(200), nullable=False))
    # special openings: their own windows ([{"start","end","capacities"}]);
    # None means the office's usual working-day windows
    windows: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
