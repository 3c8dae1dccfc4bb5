"""The dates of a divorce case, as the Civil Code counts them.

- Art. 1077: within 30 days of the office's receipt of the application either party may
  withdraw it (the cooling-off, 离婚冷静期); within the 30 days after that period ends both
  must come in person for the certificate, or the application counts as withdrawn.
- Art. 201: a period counted in days starts on the day after the event (the receipt).
- Art. 203: a period whose last day is a statutory rest day ends on the first working day
  after it. Rest days are the weekends and the statutory holidays of the official calendar
  (the State Council's notice, with its make-up working days, 调休, which count as working
  days): ``booking.schedules.official_calendar``, the data slot generation uses.

Pure functions of dates: the case stores what they give at receipt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from booking.schedules.official_calendar import DayKind, official_day

PERIOD_DAYS = 30
REST_DAYS = frozenset({DayKind.WEEKEND, DayKind.HOLIDAY})


@dataclass(frozen=True, slots=True)
class LastDay:
    day: date
    # the official calendar of a year it looked at was not announced yet: a best guess
    provisional: bool


def last_day(event: date, days: int = PERIOD_DAYS) -> LastDay:
    """The last day of a period of ``days`` counted from the day after ``event``, moved past
    rest days to the first working day (arts. 201 and 203)."""
    day = event + timedelta(days=days)
    provisional = False
    while True:
        official = official_day(day)
        provisional = provisional or not official.announced
        if official.kind not in REST_DAYS:
            return LastDay(day, provisional)
        day += timedelta(days=1)


@dataclass(frozen=True, slots=True)
class CaseDates:
    received_on: date
    cooling_off_ends: date  # the last day either party may withdraw
    window_ends: date  # the last day of the certificate window
    provisional: bool

    @property
    def window_opens(self) -> date:
        return self.cooling_off_ends + timedelta(days=1)


def case_dates(received_on: date) -> CaseDates:
    cooling_off = last_day(received_on)
    window = last_day(cooling_off.day)
    return CaseDates(received_on, cooling_off.day, window.day, cooling_off.provisional or window.provisional)
