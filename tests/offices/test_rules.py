"""Booking rules and the official calendar as pure functions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from booking.offices.rules import BookingRules
from booking.schedules.official_calendar import DayKind, holiday_name, is_announced, official_day

SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("now", "expected"), [
    (datetime(2026, 5, 5, 8, 29, 59, tzinfo=SH), date(2026, 5, 19)),
    (datetime(2026, 5, 5, 8, 30, tzinfo=SH), date(2026, 5, 20)),  # 5月20日 opens at 08:30 on 5月5日
    (datetime(2026, 5, 5, 23, 59, tzinfo=SH), date(2026, 5, 20)),
])
def test_last_released_date(now, expected):
    assert BookingRules().last_released_date(now) == expected


def test_release_moment_of_may_20():
    assert BookingRules().release_moment(date(2026, 5, 20), SH) == datetime(2026, 5, 5, 8, 30, tzinfo=SH)


@pytest.mark.parametrize(("now", "first"), [
    (datetime(2026, 5, 19, 14, 59, tzinfo=SH), date(2026, 5, 20)),
    (datetime(2026, 5, 19, 15, 0, tzinfo=SH), date(2026, 5, 21)),
])
def test_first_bookable_date(now, first):
    assert BookingRules().first_bookable_date(now) == first


def test_release_and_cutoff_are_read_in_the_office_timezone():
    rules = BookingRules()
    may_20 = date(2026, 5, 20)
    # 00:29 UTC on 5 May is 08:29 in Shanghai: 5月20日 not released yet; 00:30 UTC is 08:30
    assert rules.last_released_date(datetime(2026, 5, 5, 0, 29, tzinfo=UTC).astimezone(SH)) < may_20
    assert rules.last_released_date(datetime(2026, 5, 5, 0, 30, tzinfo=UTC).astimezone(SH)) == may_20
    # booking for 5月20日 closes at 15:00 Shanghai on 19 May, which is 07:00 UTC
    assert rules.first_bookable_date(datetime(2026, 5, 19, 6, 59, tzinfo=UTC).astimezone(SH)) == may_20
    assert rules.first_bookable_date(datetime(2026, 5, 19, 7, 0, tzinfo=UTC).astimezone(SH)) > may_20


def test_cancel_deadline():
    rules = BookingRules(cancel_deadline_hours=2)
    assert rules.cancel_deadline(datetime(2026, 5, 20, 9, tzinfo=SH)) == datetime(2026, 5, 20, 7, tzinfo=SH)


@pytest.mark.parametrize(("day", "kind", "name"), [
    (date(2026, 10, 1), DayKind.HOLIDAY, "National Day"),
    (date(2026, 10, 3), DayKind.HOLIDAY, "National Day"),  # a Saturday inside the block
    (date(2026, 10, 4), DayKind.HOLIDAY, "National Day"),  # a Sunday inside the block
    (date(2026, 10, 7), DayKind.HOLIDAY, "National Day"),
    (date(2026, 9, 20), DayKind.MAKEUP_WORKDAY, "National Day"),
    (date(2026, 10, 10), DayKind.MAKEUP_WORKDAY, "National Day"),
    (date(2026, 10, 8), DayKind.WORKDAY, None),
    (date(2026, 10, 11), DayKind.WEEKEND, None),
    (date(2026, 2, 14), DayKind.MAKEUP_WORKDAY, "Spring Festival"),
    (date(2026, 2, 17), DayKind.HOLIDAY, "Spring Festival"),
])
def test_official_days_2026(day, kind, name):
    official = official_day(day)
    assert (official.kind, official.holiday, official.announced) == (kind, name, True)


def test_unannounced_year_is_marked():
    assert is_announced(2026) and not is_announced(2099)
    new_year = official_day(date(2099, 1, 1))
    assert new_year.kind is DayKind.HOLIDAY and new_year.announced is False
    assert official_day(date(2099, 1, 5)).kind is DayKind.WORKDAY


def test_holiday_names():
    assert holiday_name("National Day", "zh_Hans_CN") == "国庆节"
    assert holiday_name("National Day", "en") == "National Day"
    assert holiday_name(None, "zh_Hans_CN") is None
