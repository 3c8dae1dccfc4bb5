"""Ballots and their entries at the HTTP boundary (the fixed API of issue 16)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from msgspec import Meta
from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from booking.kernel.catalog import ServiceName
from booking.parties.schemas import Parties, PartyOut
from booking.schemas import Answer, ApiDate, Schema, invalid_value

TimeOfDay = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class BallotCreate(Schema):
    date: ApiDate
    service: ServiceName
    entry_opens_at: AwareDatetime
    entry_closes_at: AwareDatetime
    draw_at: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> BallotCreate:
        if not self.entry_opens_at < self.entry_closes_at <= self.draw_at:
            raise invalid_value("The entry window must open before it closes, and close no later than the draw.")
        return self


class EntryCreate(Schema):
    parties: Parties
    times: Annotated[list[TimeOfDay], Field(min_length=1, max_length=24)] | None = Field(
        default=None, description="local start times (HH:MM) of the day's slots the couple can take; "
        "leave out for any")
    locale: Literal["zh_Hans_CN", "en"] | None = Field(
        default=None, description="language of notifications; default: the request's language")


class SeatsAt(Answer):
    time: Annotated[str, Meta(description="local start time of a slot of the day")]
    seats: int


class BallotOut(Answer, omit_defaults=True):
    """The fields after the draw are left out before it."""

    id: uuid.UUID
    office_id: int
    service: str
    date: date
    state: Annotated[Literal["scheduled", "open", "closed", "drawn"], Meta(
        description="scheduled: entries not open yet; open: taking entries; closed: waiting for the draw")]
    capacity: Annotated[int, Meta(description="the day's free seats (after the draw: the seats it allotted)")]
    entry_count: int
    entry_opens_at: Annotated[datetime, Meta(tz=True)]
    entry_closes_at: Annotated[datetime, Meta(tz=True)]
    draw_at: Annotated[datetime, Meta(tz=True)]
    seed_commitment: Annotated[str, Meta(description="SHA-256 (hex) of the seed, published before the window opens")]
    seed: Annotated[str, Meta(description="after the draw: the seed (64 hex digits)")] | None = None
    drawn_at: Annotated[datetime, Meta(tz=True)] | None = None
    entry_ids: Annotated[list[uuid.UUID], Meta(description="after the draw: every entry drawn, sorted")] | None = None
    winners: Annotated[list[uuid.UUID], Meta(description="after the draw: the winners, in draw order")] | None = None
    seats: Annotated[list[SeatsAt], Meta(description="after the draw: the seats per start time")] | None = None
    entry_times: Annotated[dict[str, list[str]], Meta(
        description="after the draw: the times named by entries that named any")] | None = None
    verification: Annotated[str, Meta(description="how to recompute the winners from the published data")]


class BallotList(Answer):
    data: list[BallotOut]


class EntryLinks(Answer, omit_defaults=True):
    self: str
    ballot: str
    withdraw: str
    appointment: Annotated[str, Meta(description="won: the appointment it booked")] | None = None


class EntryOut(Answer):
    id: uuid.UUID
    ballot_id: uuid.UUID
    office_id: int
    service: str
    date: date
    state: Annotated[Literal["entered", "won", "waitlisted", "withdrawn", "lapsed"], Meta(
        description="lapsed: still waiting when the day's booking closed")]
    appointment_id: uuid.UUID | None = None
    position: Annotated[int, Meta(description="waitlisted: place in the day's waitlist (1 = next)")] | None = None
    rank: Annotated[int, Meta(description="after the draw: place in the draw order")] | None = None
    times: list[str] | None = None
    parties: list[PartyOut]
    created_at: datetime
    links: EntryLinks


class EntryList(Answer):
    data: list[EntryOut]
    total: int
    limit: int
    offset: int
