"""China's official calendar: public holidays and make-up working days (调休).

Source: the ``chinesecalendar`` package, which carries each year's State Council notice and
raises for a year not yet announced, so an unknown year is never mistaken for one without
调休. For such a year a clerk may still generate slots with an explicit override; then the
statutory holidays come from the ``holidays`` package (computed from the lunar calendar)
and no make-up working days are assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache

import chinese_calendar
import holidays as holidays_pkg


class DayKind(StrEnum):
    WORKDAY = "workday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"  # a statutory rest day, weekends inside a holiday block included
    MAKEUP_WORKDAY = "makeup_workday"  # 调休: a weekend day worked instead


@dataclass(frozen=True, slots=True)
class OfficialDay:
    day: date
    kind: DayKind
    holiday: str | None = None  # English name, e.g. "National Day"
    announced: bool = True


_ZH_NAMES = {h.value: h.chinese for h in chinese_calendar.Holiday}


def holiday_name(name: str | None, locale: str) -> str | None:
    """A holiday's name in the caller's language."""
    if name is None or not locale.startswith("zh"):
        return name
    return _ZH_NAMES.get(name, name)


@lru_cache(maxsize=64)
def is_announced(year: int) -> bool:
    """Whether the State Council's holiday and 调休 schedule for ``year`` is known."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=16)
def _statutory(year: int) -> dict[date, str]:
    return dict(holidays_pkg.China(years=year, categories=("public",)).items())


def official_day(day: date) -> OfficialDay:
    """The kind of ``day``; for an unannounced year, a best guess marked ``announced=False``."""
    if is_announced(day.year):
        is_rest, name = chinese_calendar.get_holiday_detail(day)
        if name is not None:
            return OfficialDay(day, DayKind.HOLIDAY if is_rest else DayKind.MAKEUP_WORKDAY, name)
        return OfficialDay(day, DayKind.WEEKEND if is_rest else DayKind.WORKDAY)
    name = _statutory(day.year).get(day)
    if name is not None:
        return OfficialDay(day, DayKind.HOLIDAY, name, announced=False)
    kind = DayKind.WEEKEND if day.isoweekday() >= 6 else DayKind.WORKDAY
    return OfficialDay(day, kind, announced=False)


def unannounced_years(start: date, end: date) -> list[int]:
    return [y for y in range(start.year, end.year + 1) if not is_announced(y)]
