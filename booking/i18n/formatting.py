"""Dates and times formatted for a locale, in an office's timezone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.dates import format_time as _format_time

from booking.i18n import babel_locale


def format_datetime(value: datetime, tz: str, locale: str, fmt: str = "medium") -> str:
    return _format_datetime(value, format=fmt, tzinfo=ZoneInfo(tz), locale=babel_locale(locale))


def format_date(value: date, locale: str, fmt: str = "full") -> str:
    return _format_date(value, format=fmt, locale=babel_locale(locale))


def format_time(value: datetime, tz: str, locale: str, fmt: str = "short") -> str:
    return _format_time(value, format=fmt, tzinfo=ZoneInfo(tz), locale=babel_locale(locale))


def format_when(value: datetime, tz: str, locale: str) -> str:
    """A moment as people read it in messages: the full date and the short time, in the
    office's timezone (``2026年10月8日星期四 09:00`` / ``Thursday, October 8, 2026 9:00 AM``)."""
    local = value.astimezone(ZoneInfo(tz))
    return f"{format_date(local.date(), locale, 'full')} {format_time(value, tz, locale)}"
