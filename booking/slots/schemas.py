"""Slots at the HTTP boundary."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, model_validator

from booking.peakdays.schemas import PeakDayOut
from booking.schemas import Output, Schema, invalid_value

MAX_RANGE_DAYS = 366  # the most days one generation covers


class AvailableSlot(Output):
    slot_id: int
    starts_at: AwareDatetime = Field(description="ISO 8601 in the office's timezone")
    ends_at: AwareDatetime
    capacity: int
    remaining: int


class AvailabilityOut(Output):
    office_id: int
    service: str
    timezone: str
    data: list[AvailableSlot]


class GenerateIn(Schema):
    from_: date = Field(alias="from")
    to: date
    allow_unannounced_years: bool = Field(
        default=False,
        description="generate a year whose official 调休 schedule is not published yet, "
        "with statutory holidays only and no make-up working days",
    )

    @model_validator(mode="after")
    def _range(self) -> GenerateIn:
        if self.to < self.from_:
            raise invalid_value("The end date must not be before the start date.")
        if (self.to - self.from_).days >= MAX_RANGE_DAYS:
            raise invalid_value("At most {days} days at a time.", days=MAX_RANGE_DAYS)
        return self


class GeneratedDay(Output):
    date: date
    status: str
    windows: int
    holiday: str | None = None
    announced: bool
    peak: list[str] | None = Field(default=None, description="a peak day: its names")


class GenerateOut(Output):
    created: int
    existing: int
    assumed_years: list[int] = Field(description="years generated without a published 调休 schedule")
    days: list[GeneratedDay]
    peak_days: list[PeakDayOut] = Field(
        description="the peak days in the range, and how the office books each (a ballot, or first come)")


class SlotUpdate(Schema):
    capacity: Annotated[int, Field(ge=0, le=1000)] | None = None
    status: Literal["open", "closed"] | None = None
    note: Annotated[str, Field(max_length=200, description=(
        "Why a closed slot is closed: told to the couples whose appointments it cancels"))] = ""


class SlotOut(Output):
    id: int
    office_id: int
    service: str
    date: date
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int
    status: Literal["open", "closed"]
    closed_reason: Literal["clerk", "closure", "opening_removed"] | None = Field(
        default=None, description="who closed it: a clerk, a closure of its date, or the removal of its "
        "special opening (only a clerk's closing is undone by reopening the slot)")


class SlotList(Output):
    data: list[SlotOut]
