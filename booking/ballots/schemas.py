"""Ballots and their entries at the HTTP boundary (the fixed API of issue 16)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from booking.kernel.catalog import ServiceName
from booking.parties.schemas import Parties, PartyOut
from booking.schemas import ApiDate, Output, Schema, invalid_value

TimeOfDay = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class BallotIn(Schema):
    date: ApiDate
    service: ServiceName
    entry_opens_at: AwareDatetime
    entry_closes_at: AwareDatetime
    draw_at: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> BallotIn:
        if not self.entry_opens_at < self.entry_closes_at <= self.draw_at:
            raise invalid_value("The entry window must open before it closes, and close no later than the draw.")
        return self


class EntryIn(Schema):
    parties: Parties
    times: Annotated[list[TimeOfDay], Field(min_length=1, max_length=24)] | None = Field(
        default=None, description="local start times (HH:MM) of the day's slots the couple can take; "
        "leave out for any")
    locale: Literal["zh_Hans_CN", "en"] | None = Field(
        default=None, description="language of notifications; default: the request's language")


class SeatsAt(Output):
    time: str = Field(description="local start time of a slot of the day")
    seats: int


class BallotOut(Output):
    id: uuid.UUID
    office_id: int
    service: str
    date: str
    state: Literal["scheduled", "open", "closed", "drawn"] = Field(
        description="scheduled: entries not open yet; open: taking entries; closed: waiting for the draw")
    capacity: int = Field(description="the day's free seats (after the draw: the seats it allotted)")
    entry_count: int
    entry_opens_at: AwareDatetime
    entry_closes_at: AwareDatetime
    draw_at: AwareDatetime
    seed_commitment: str = Field(description="SHA-256 (hex) of the seed, published before the window opens")
    seed: str | None = Field(default=None, description="after the draw: the seed (64 hex digits)")
    drawn_at: AwareDatetime | None = None
    entry_ids: list[uuid.UUID] | None = Field(default=None, description="after the draw: every entry drawn, sorted")
    winners: list[uuid.UUID] | None = Field(default=None, description="after the draw: the winners, in draw order")
    seats: list[SeatsAt] | None = Field(default=None, description="after the draw: the seats per start time")
    entry_times: dict[str, list[str]] | None = Field(
        default=None, description="after the draw: the times named by entries that named any")
    verification: str = Field(description="how to recompute the winners from the published data")


class BallotList(Output):
    data: list[BallotOut]


class EntryOut(Output):
    id: uuid.UUID
    ballot_id: uuid.UUID
    office_id: int
    service: str
    date: str
    state: Literal["entered", "won", "waitlisted", "withdrawn", "lapsed"] = Field(
        description="lapsed: still waiting when the day's booking closed")
    appointment_id: uuid.UUID | None = None
    position: int | None = Field(default=None, description="waitlisted: place in the day's waitlist (1 = next)")
    rank: int | None = Field(default=None, description="after the draw: place in the draw order")
    times: list[str] | None = None
    parties: list[PartyOut]
    created_at: datetime


class EntryList(Output):
    data: list[EntryOut]
    total: int
    limit: int
    offset: int
