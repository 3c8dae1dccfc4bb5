"""Jurisdiction policy (办理地规则) as effective-dated data (DESIGN.md section 5).

A period says, for the services and areas in its scope and the dates it is in force,
which couples may register at an office there (its ``rule``), what they must submit, and
whether a clerk pre-reviews couples with neither hukou in the office's province. The law
changes by adding or editing periods, not code.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Column, Date, ForeignKey, Integer, String, Text
from sqlmodel import Field, SQLModel

from booking.db.models._base import utc_field

POLICY_RULES = ("local_hukou", "residence_permit", "nationwide")


class JurisdictionPeriod(SQLModel, table=True):
    __tablename__ = "jurisdiction_period"
    __table_args__ = (
        CheckConstraint(f"rule IN {POLICY_RULES}", name="ck_jurisdiction_period_rule"),
        CheckConstraint("effective_to IS NULL OR effective_to >= effective_from", name="ck_jurisdiction_period_dates"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    # a stable name for people and logs, e.g. "pilot-2021"
    code: str = Field(sa_column=Column(String(40), nullable=False, unique=True))
    title_zh: str = Field(sa_column=Column(String(200), nullable=False))
    title_en: str = Field(sa_column=Column(String(200), nullable=False))
    legal_basis: str = Field(default="", sa_column=Column(String(200), nullable=False, server_default=""))
    # both inclusive, as the State Council's notices state them; no end = in force until changed
    effective_from: date = Field(sa_column=Column(Date, nullable=False))
    effective_to: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    rule: str = Field(sa_column=Column(String(20), nullable=False))
    # document kinds (booking.jurisdiction.policy.DOCUMENT_KINDS) a couple submits
    documents_local: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    documents_nonlocal: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # a clerk pre-reviews couples with neither hukou local (under "nationwide", offices may opt out)
    prereview: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = utc_field(default_now=True)
    updated_at: datetime = utc_field(default_now=True)


class JurisdictionArea(SQLModel, table=True):
    """One service in one area within a period's scope. ``area_code`` is a GB/T 2260
    prefix: 2 digits a province ("44"), 4 a prefecture-level city ("4201" Wuhan), 6 a
    county-level division; an office is in scope when its division code starts with it."""

    __tablename__ = "jurisdiction_area"
    __table_args__ = (
        CheckConstraint("length(area_code) IN (2, 4, 6)", name="ck_jurisdiction_area_code"),
    )

    period_id: int = Field(sa_column=Column(
        Integer, ForeignKey("jurisdiction_period.id", ondelete="CASCADE"), primary_key=True))
    service: str = Field(sa_column=Column(String(32), primary_key=True))
    area_code: str = Field(sa_column=Column(String(6), primary_key=True))
