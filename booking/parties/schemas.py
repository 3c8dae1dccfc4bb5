"""Parties at the HTTP boundary: what a couple submits, and the masked form returned."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from msgspec import Meta
from pydantic import Field, StringConstraints, field_validator

from booking.parties.identity import IdType
from booking.schemas import Answer, OneLine, Phone, ProvinceCode, Schema, invalid_value

PartyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), OneLine]


class PartyIn(Schema):
    name: PartyName
    id_type: IdType = IdType.RESIDENT_ID
    id_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    phone: Phone
    hukou_province: ProvinceCode | None = Field(
        default=None, description="two-digit GB/T 2260 code of the party's hukou (户籍) province. Asked, "
        "never guessed from the ID number (that is where a person was first registered): without it the "
        "party counts as non-local, which can route the couple to pre-review")
    sex: Literal["M", "F"] | None = Field(default=None, description="required unless the ID number carries it")
    birth_date: date | None = Field(default=None, description="required unless the ID number carries it")

    @field_validator("name")
    @classmethod
    def _no_markup(cls, value: str) -> str:
        if "<" in value or ">" in value:
            raise invalid_value("Has an invalid value.")
        return value


Parties = Annotated[list[PartyIn], Field(min_length=2, max_length=2)]


class PartyOut(Answer):
    """A party as every response shows it: ID number and phone masked."""

    position: int
    name: str
    id_type: str
    id_number: Annotated[str, Meta(description="masked: the last character only, e.g. *****************X")]
    phone: Annotated[str, Meta(description="masked, e.g. ********678")]
    hukou_province: str | None

    @classmethod
    def of(cls, p: Any) -> PartyOut:
        """A stored party (of an appointment, sign-up or ballot entry), or one just prepared."""
        return cls(position=p.position, name=p.name, id_type=p.id_type, id_number=p.id_masked,
                   phone=p.phone_masked, hukou_province=p.hukou_province)


class PartyRevealed(Answer):
    position: int
    name: str
    id_type: str
    id_number: str
    phone: str
