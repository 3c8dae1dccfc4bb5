"""Offices (婚姻登记处) and their booking rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Integer, String
from sqlmodel import Field, SQLModel

from booking.db.models._base import utc_field


class Office(SQLModel, table=True):
    __tablename__ = "office"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    code: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    name_zh: str = Field(sa_column=Column(String(200), nullable=False))
    name_en: str = Field(sa_column=Column(String(200), nullable=False))
    # GB/T 2260: the two-digit province code ("44" Guangdong) and the six-digit division
    province_code: str = Field(sa_column=Column(String(2), nullable=False, index=True))
    division_code: str | None = Field(default=None, sa_column=Column(String(6), nullable=True))
    city: str = Field(sa_column=Column(String(100), nullable=False))
    address_zh: str = Field(sa_column=Column(String(300), nullable=False))
    address_en: str = Field(default="", sa_column=Column(String(300), nullable=False))
    timezone: str = Field(default="Asia/Shanghai", sa_column=Column(String(64), nullable=False))
    email: str | None = Field(default=None, sa_column=Column(String(254), nullable=True))
    phone: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    # services offered, e.g. ["marriage_registration", "certificate_reissue"]
    services: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # booking rules as data (booking.offices.rules.BookingRules)
    rules: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    is_active: bool = Field(default=True)
    created_at: datetime = utc_field(default_now=True)
    updated_at: datetime = utc_field(default_now=True)
