"""Divorce registration cases (离婚登记): the case, its two parties, its visits.

A case is booked as its application visit, starts at the clerk's receipt (受理), runs the
30-day cooling-off (离婚冷静期, Civil Code art. 1077) and the 30 days after it in which
both parties come for the certificate; ``booking.divorce`` owns every change.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Uuid,
    text,
)
from sqlmodel import Field, SQLModel

from booking.db.models._base import PartyIdentity, utc_field

# applying: the application visit is booked (awaiting the other party, or standing);
# received: the clerk recorded receipt: cooling-off, then the certificate window (dates);
# registered: the certificate was issued; withdrawn: by a party, online or at the counter;
# deemed_withdrawn: no certificate by the window's end (视为撤回); lapsed: the application
# visit never took place (not confirmed in time, missed, cancelled by the office)
CASE_STATUSES = ("applying", "received", "registered", "withdrawn", "deemed_withdrawn", "lapsed")
OPEN_CASE_STATUSES = ("applying", "received")
VISIT_KINDS = ("application", "certificate")


class DivorceCase(SQLModel, table=True):
    __tablename__ = "divorce_case"
    __table_args__ = (
        CheckConstraint(f"status IN {CASE_STATUSES}", name="ck_divorce_case_status"),
        CheckConstraint("ended_via IS NULL OR ended_via IN ('online', 'counter')", name="ck_divorce_case_via"),
        # the deemed-withdrawal sweep: received cases by the end of their window
        Index("ix_divorce_case_window", "window_ends", postgresql_where=text("status = 'received'"),
              sqlite_where=text("status = 'received'")),
        Index("ix_divorce_case_office", "office_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True))
    office_id: int = Field(sa_column=Column(Integer, ForeignKey("office.id", ondelete="RESTRICT"), nullable=False))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    # what the office holds of this marriage: "registration" or "reissue" done here for the
    # same two people; None: the clerk checks the certificate at the counter (at receipt)
    marriage_record: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    certificate_checked_by: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    # what the jurisdiction policy asked of this couple (document kinds), as at booking
    documents: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    received_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    received_at: datetime | None = utc_field(nullable=True)
    received_by: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    # inclusive last days, each moved past rest days (Civil Code art. 203)
    cooling_off_ends: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    window_ends: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    # the holiday data for a date's year was not announced yet: best guess (statutory holidays only)
    dates_provisional: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default="0"))
    ended_at: datetime | None = utc_field(nullable=True)
    # who ended it and where (withdrawn): kept for the office, never shown to the other party
    ended_by_position: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    ended_via: str | None = Field(default=None, sa_column=Column(String(10), nullable=True))
    # raised on every change the parties are told of (their notices' sequence)
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    created_at: datetime = utc_field(default_now=True)
    updated_at: datetime = utc_field(default_now=True)


class DivorceParty(PartyIdentity, table=True):
    """One spouse in a case: who (the keyed hash of the ID number, as everywhere), their own
    account and contact. Contact is given by that party alone (the other never types it)."""

    __tablename__ = "divorce_party"
    __table_args__ = (
        CheckConstraint("position IN (1, 2)", name="ck_divorce_party_position"),
        Index("uq_divorce_party_position", "case_id", "position", unique=True),
        # one open case per person, once they have taken part in it (a booking naming
        # someone does not tie them up before they confirm)
        Index("uq_divorce_party_open", "id_hash", unique=True, postgresql_where=text("open"),
              sqlite_where=text("open")),
        Index("ix_divorce_party_account", "account_id"),
        Index("ix_divorce_party_id_hash", "id_hash"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True))
    case_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("divorce_case.id", ondelete="CASCADE"),
                                                nullable=False))
    # None until the party confirms with their own account
    account_id: uuid.UUID | None = Field(default=None, sa_column=Column(
        Uuid, ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True))
    phone_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    phone_hash: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    phone_masked: str | None = Field(default=None, sa_column=Column(String(24), nullable=True))
    locale: str = Field(default="zh_Hans_CN", sa_column=Column(String(16), nullable=False))
    confirmed_at: datetime | None = utc_field(nullable=True)
    open: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))


class DivorceVisit(SQLModel, table=True):
    """A visit of a case: the appointment, booked by one party, standing once the other
    confirms (``awaiting_party`` until then, holding its seat until ``confirm_by``)."""

    __tablename__ = "divorce_visit"
    __table_args__ = (
        CheckConstraint(f"kind IN {VISIT_KINDS}", name="ck_divorce_visit_kind"),
        Index("ix_divorce_visit_case", "case_id"),
        # the sweep of visits whose confirmation did not come in time
        Index("ix_divorce_visit_unconfirmed", "confirm_by", postgresql_where=text("confirmed_at IS NULL"),
              sqlite_where=text("confirmed_at IS NULL")),
    )

    appointment_id: uuid.UUID = Field(sa_column=Column(
        Uuid, ForeignKey("appointment.id", ondelete="CASCADE"), primary_key=True))
    case_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("divorce_case.id", ondelete="CASCADE"),
                                                nullable=False))
    kind: str = Field(sa_column=Column(String(12), nullable=False))
    booked_by_position: int = Field(sa_column=Column(SmallInteger, nullable=False))
    confirm_by: datetime = utc_field()
    confirmed_at: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field(default_now=True)
