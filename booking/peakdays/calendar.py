"""The national peak days, for any year: 2月14日, 5月20日 and 七夕.

七夕 is the 7th day of the 7th month of the Chinese lunisolar calendar; its Gregorian date
comes from the ``lunardate`` package (tables for 1900-2099), never from a typed list. A year
outside its tables has no 七夕 here rather than a guessed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from lunardate import LunarDate

from booking.i18n import LazyText, lazy

# the kinds as the API names them
VALENTINE, FIVE_TWENTY, QIXI, OFFICE = "valentine", "520", "qixi", "office"

NAMES: dict[str, LazyText] = {
    VALENTINE: lazy("Valentine's Day (14 February)"),
    FIVE_TWENTY: lazy("20 May (520, \"I love you\")"),
    QIXI: lazy("Qixi Festival (7th day of the 7th lunar month)"),
}


@dataclass(frozen=True, slots=True)
class NationalPeakDay:
    day: date
    kind: str

    def name(self, locale: str) -> str:
        return NAMES[self.kind].render(locale)


@lru_cache(maxsize=256)
def qixi(year: int) -> date | None:
    """七夕 of ``year``, or None where the lunar tables end."""
    try:
        return LunarDate(year, 7, 7).to_solar_date()
    except (ValueError, IndexError):
        return None


def national_peak_days(start: date, end: date) -> list[NationalPeakDay]:
    """The national peak days from ``start`` to ``end`` (both included), in date order."""
    found = []
    for year in range(start.year, end.year + 1):
        candidates = [NationalPeakDay(date(year, 2, 14), VALENTINE), NationalPeakDay(date(year, 5, 20), FIVE_TWENTY)]
        lunar = qixi(year)
        if lunar is not None:
            candidates.append(NationalPeakDay(lunar, QIXI))
        found += [p for p in candidates if start <= p.day <= end]
    return sorted(found, key=lambda p: p.day)
