"""Peak days at the HTTP boundary."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from booking.schemas import ApiDate, Output, PlainText, Schema

PeakName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), PlainText]


class PeakDayCreate(Schema):
    date: ApiDate
    name_zh: PeakName
    name_en: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), PlainText] | None = None


class PeakBallotRef(Output):
    ballot_id: uuid.UUID
    office_id: int
    service: str
    links: dict[str, str]


class PeakDayOut(Output):
    date: str
    names: list[str] = Field(description="in the caller's language")
    kinds: list[Literal["520", "qixi", "valentine", "office"]]
    office_ids: list[int] = Field(description="offices that made the date one of their own peak days")
    ballots: list[PeakBallotRef] = Field(description="ballots that allot the date's seats")
    booking: Literal["ballot", "first_come"] | None = Field(
        default=None, description="with office_id: how that office books the date")


class PeakDayList(Output):
    data: list[PeakDayOut]
