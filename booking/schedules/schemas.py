"""Weekly schedules and date exceptions at the HTTP boundary."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Literal

from msgspec import Meta
from pydantic import Field, model_validator

from booking.appointments.schemas import RosterEntry
from booking.kernel.catalog import ServiceName
from booking.schemas import Answer, LocalTime, Output, Schema, invalid_value

Capacity = Annotated[int, Field(ge=1, le=1000)]


class WindowIn(Schema):
    start: LocalTime
    end: LocalTime
    capacities: Annotated[dict[ServiceName, Capacity], Field(min_length=1)]

    @model_validator(mode="after")
    def _ordered(self) -> WindowIn:
        if self.start >= self.end:
            raise invalid_value("A window must end after it starts.")
        return self


def _no_overlap(windows: list[WindowIn]) -> None:
    ordered = sorted(windows, key=lambda w: w.start)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b.start < a.end:
            raise invalid_value("Windows on the same day must not overlap.")


class WeeklyWindowIn(WindowIn):
    weekday: Annotated[int, Field(ge=1, le=7, description="ISO weekday: 1 = Monday ... 7 = Sunday")]


class WeeklyScheduleIn(Schema):
    windows: Annotated[list[WeeklyWindowIn], Field(max_length=200)]

    @model_validator(mode="after")
    def _per_day(self) -> WeeklyScheduleIn:
        for weekday in range(1, 8):
            _no_overlap([w for w in self.windows if w.weekday == weekday])
        return self


class WindowOut(Output):
    start: time
    end: time
    capacities: dict[str, int]


class WeeklyWindowOut(WindowOut):
    weekday: int


class WeeklyScheduleOut(Output):
    office_id: int
    windows: list[WeeklyWindowOut]


class ClosureCreate(Schema):
    date: date
    note: Annotated[str, Field(max_length=200)] = ""


class SpecialOpeningCreate(Schema):
    date: date
    note: Annotated[str, Field(max_length=200)] = ""
    windows: Annotated[list[WindowIn] | None, Field(
        default=None, max_length=50, description="omit to use the office's usual working-day windows")]

    @model_validator(mode="after")
    def _windows(self) -> SpecialOpeningCreate:
        if self.windows:
            _no_overlap(self.windows)
        return self


class OfficeDayOut(Output):
    date: date
    kind: Literal["closure", "special_opening"]
    note: str
    windows: list[WindowOut] | None = None


class ClosureOut(OfficeDayOut):
    cancelled_appointments: int = Field(description="appointments on that date cancelled by the office")


class ClosurePreviewOut(Answer):
    date: date
    open_slots: Annotated[int, Meta(description="open slots the closure would close")]
    appointments: Annotated[list[RosterEntry], Meta(
        description="what the closure would cancel if saved now (masked)")]


class OfficeDayList(Output):
    data: list[OfficeDayOut]
