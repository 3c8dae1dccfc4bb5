"""Accounts: couples, clerks (bound to one office) and admins."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer, String, Text, Uuid
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
    # 实名: the keyed hash of the ID number of the person this (couple's) account books for,
    # bound at its first online booking (never the number itself)
    id_hash: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    # raised whenever the account's sessions must end (deactivation, reactivation, a move to
    # another office, an MFA reset): access tokens carry it (``sv``) and a token with an
    # older one is refused (booking.accounts.revocation)
    session_version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # staff second factor (TOTP, RFC 6238): the secret encrypted under the data key; enabled
    # once the first code was confirmed; the last time step used (a code works once)
    totp_secret_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    totp_enabled_at: datetime | None = utc_field(nullable=True)
    totp_last_step: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # no longer used (login throttling moved to booking.accounts.throttle); kept for the
    # previous release during a rolling update, dropped by a later migration
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field(default_now=True)


class RevokedToken(SQLModel, table=True):
    """Access tokens ended before their expiry (``POST /api/v1/auth/logout``), by token id;
    a row is purged once its token would have expired anyway."""

    __tablename__ = "revoked_token"
    __table_args__ = (Index("ix_revoked_token_expires_at", "expires_at"),)

    jti: str = Field(sa_column=Column(String(64), primary_key=True))
    account_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("user_account.id", ondelete="CASCADE"),
                                                   nullable=False))
    expires_at: datetime = utc_field()


class RecoveryCode(SQLModel, table=True):
    """A staff member's one-time recovery codes for the second factor: keyed hashes only."""

    __tablename__ = "recovery_code"

    account_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("user_account.id", ondelete="CASCADE"),
                                                   primary_key=True))
    code_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    used_at: datetime | None = utc_field(nullable=True)
