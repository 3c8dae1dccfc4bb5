"""Helpers shared by the table modules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, SmallInteger, String, Text
from sqlmodel import Field, SQLModel

from booking.db.types import DateTimeUTC


def utcnow() -> datetime:
    return datetime.now(UTC)


def utc_field(*, nullable: bool = False, default_now: bool = False, index: bool = False, **kw: Any) -> Any:
    """A UTC timestamp column (``timestamptz`` on PostgreSQL)."""
    column = Column(DateTimeUTC(), nullable=nullable, index=index)
    if default_now:
        return Field(default_factory=utcnow, sa_column=column, **kw)
    return Field(default=None, sa_column=column, **kw)


class PartyIdentity(SQLModel):
    """Who a party is, as every table of parties stores it (appointments', sign-ups', ballot
    entries', divorce cases'): the place in the couple, the name, the ID number encrypted,
    hashed with the vault's key (how the tables find a person) and masked, and the province
    of the household registration. Each table adds its own keys, indexes and constraints.
    (Fields with ``sa_type``, not ``sa_column``: a Column object belongs to one table.)"""

    position: int = Field(sa_type=SmallInteger, nullable=False)
    name: str = Field(sa_type=String(50), nullable=False)
    id_type: str = Field(sa_type=String(24), nullable=False)
    id_hash: str = Field(sa_type=String(64), nullable=False)
    id_enc: str = Field(sa_type=Text, nullable=False)
    id_masked: str = Field(sa_type=String(40), nullable=False)
    hukou_province: str | None = Field(default=None, sa_type=String(2), nullable=True)


class BookedParty(PartyIdentity):
    """A party named when the couple books, signs up or enters a ballot: the phone (encrypted,
    hashed, masked) and the facts the rules re-check (sex and birth date, encrypted as
    "M|1995-03-08"; in plain text beside the mask they would narrow the ID number,
    security/pii.py) come with them."""

    phone_enc: str = Field(sa_type=Text, nullable=False)
    phone_hash: str = Field(sa_type=String(64), nullable=False)
    phone_masked: str = Field(sa_type=String(24), nullable=False)
    facts_enc: str = Field(sa_type=Text, nullable=False)


_BOOKED_PARTY_FIELDS = tuple(BookedParty.model_fields)


def booked_party_values(party: Any) -> dict[str, Any]:
    """The ``BookedParty`` columns' values of a party prepared for storing
    (``parties.services.PreparedParty``) or stored in another party table."""
    return {name: getattr(party, name) for name in _BOOKED_PARTY_FIELDS}
