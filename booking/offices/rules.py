"""An office's booking rules, kept as data on the office (DESIGN.md section 5).

All the time arithmetic of releasing days, cut-offs and deadlines lives here as pure
functions of ``now``, in the office's timezone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from booking.schemas import LocalTime


class NoShowPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    """N (``limit``) no-shows within W (``window_days``) days => no booking for B
    (``ban_days``) days from the last of them (``booking.appointments.services.noshow``)."""

    limit: int = Field(default=2, ge=1, le=20, description="no-shows within the window that trigger a ban")
    window_days: int = Field(default=30, ge=1, le=365,
                             description="...counted from the first to the last of them")
    ban_days: int = Field(default=15, ge=0, le=365, description="the ban runs this long from the last of them")


class BookingRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    booking_window_days: int = Field(default=15, ge=0, le=90, description="a day opens this many days ahead")
    release_time: LocalTime = Field(default=time(8, 30),
                                    description="local time at which a new day is released")
    cutoff_days_before: int = Field(default=1, ge=0, le=30, description="booking closes this many days before")
    cutoff_time: LocalTime = Field(default=time(15, 0),
                                   description="...at this local time (and never after the start)")
    cancel_deadline_hours: int = Field(default=2, ge=0, le=720, description="cancel or reschedule until then")
    no_show: NoShowPolicy = Field(default_factory=NoShowPolicy)
    review_hold_hours: int = Field(default=72, ge=1, le=720, description="cross-province: seat held this long")
    prereview_nonlocal: bool = Field(default=True, description="pre-review couples with neither hukou local")
    reminder_day_before_at: LocalTime = Field(default=time(18, 0),
                                              description="local time of the day-before reminder")
    reminder_hours_before: int = Field(default=2, ge=0, le=48, description="second reminder; 0 = none")

    # --- release and cut-off, all in the office's timezone -------------------------
    def last_released_date(self, now_local: datetime) -> date:
        """The latest local date whose slots are released at ``now_local``."""
        today = now_local.date()
        if now_local.time() >= self.release_time:
            return today + timedelta(days=self.booking_window_days)
        return today + timedelta(days=self.booking_window_days - 1)

    def release_moment(self, day: date, tz: ZoneInfo) -> datetime:
        """When the slots of ``day`` are released."""
        return datetime.combine(day - timedelta(days=self.booking_window_days), self.release_time, tzinfo=tz)

    def first_bookable_date(self, now_local: datetime) -> date:
        """The earliest local date whose cut-off has not passed (slots must also start after now)."""
        first = now_local.date() + timedelta(days=self.cutoff_days_before)
        return first if now_local.time() < self.cutoff_time else first + timedelta(days=1)

    def cancel_deadline(self, starts_at: datetime) -> datetime:
        return starts_at - timedelta(hours=self.cancel_deadline_hours)


def rules_of(raw: dict | None) -> BookingRules:
    return BookingRules.model_validate(raw or {})
