"""Accounts: couples, clerks (bound to one office) and admins."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel

from booking.db.models._base import utc_field


class UserAccount(SQLModel, table=True):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("role IN ('couple', 'clerk', 'admin')", name="ck_user_account_role"),
        CheckConstraint("role <> 'clerk' OR office_id IS NOT NULL", name="ck_user_account_clerk_office"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # stored lower-cased; unique
    email: str = Field(sa_column=Column(String(254), nullable=False, unique=True))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    # the account holder's phone, encrypted (personal data); masked form for display
    phone_enc: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    phone_masked: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    locale: str = Field(default="zh_Hans_CN", sa_column=Column(String(16), nullable=False))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    office_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("office.id", ondelete="RESTRICT"), nullable=True, index=True)
    )
    is_active: bool = Field(default=True)
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field(default_now=True)
