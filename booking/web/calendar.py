"""What the office page shows, computed from the availability cache and the office's rules:
the next two weeks as days of slots, when the next day is released, and the nearest free
slots to offer when the chosen one is full.

The slots come from ``AvailabilityReader`` (``booking.slots.availability``): the same cached
answer as ``GET /api/v1/offices/{id}/availability``, so the page adds no query at the rush.
The office's opening hours and phone change rarely and are kept here for a minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from babel.dates import format_skeleton
from babel.numbers import format_decimal

from booking.db.models import Office
from booking.errors import NotFound
from booking.i18n import babel_locale, gettext
from booking.i18n.formatting import format_time
from booking.kernel.ttl import MISSING
from booking.offices.directory import OfficeInfo
from booking.runtime import Runtime
from booking.schedules.official_calendar import DayKind, holiday_name, official_day
from booking.schedules.services import get_schedule

DAYS_SHOWN = 14


@dataclass(frozen=True, slots=True)
class FreeSlot:
    slot_id: int
    starts_at: datetime
    ends_at: datetime
    capacity: int
    remaining: int


@dataclass(slots=True)
class Day:
    day: date
    slots: list[FreeSlot] = field(default_factory=list)
    state: str = "open"  # open | closed (cut-off passed) | unreleased | none (no slots)
    holiday: str | None = None
    opens_at: datetime | None = None  # unreleased: when its slots are released


@dataclass(frozen=True, slots=True)
class Hours:
    weekday: int  # ISO, 1 = Monday
    start: time
    end: time


async def office_or_404(rt: Runtime, office_id: int) -> OfficeInfo:
    """An active office, from the per-process office directory."""
    office = await rt.offices.get(office_id)
    if office is None:
        raise NotFound()
    return office


async def free_slots(rt: Runtime, office_id: int, service: str) -> list[FreeSlot]:
    """The office's bookable slots of one service, from the availability cache."""
    body = await rt.availability.read(office_id, service, None, None, rt.clock.now())
    rows = msgspec.json.decode(body)["data"]
    return [FreeSlot(r["slot_id"], datetime.fromisoformat(r["starts_at"]), datetime.fromisoformat(r["ends_at"]),
                     r["capacity"], r["remaining"]) for r in rows]


def days(office: OfficeInfo, slots: list[FreeSlot], now: datetime, locale: str) -> list[Day]:
    local_now = now.astimezone(office.tz)
    today = local_now.date()
    last_released = office.rules.last_released_date(local_now)
    first_open = office.rules.first_bookable_date(local_now)
    by_day: dict[date, list[FreeSlot]] = {}
    for slot in slots:
        by_day.setdefault(slot.starts_at.astimezone(office.tz).date(), []).append(slot)
    shown = []
    for offset in range(DAYS_SHOWN + 1):
        day = today + timedelta(days=offset)
        entry = Day(day, by_day.get(day, []))
        official = official_day(day)
        if official.kind == DayKind.HOLIDAY:
            entry.holiday = holiday_name(official.holiday, locale)
        if day > last_released:
            entry.state = "unreleased"
            entry.opens_at = office.rules.release_moment(day, office.tz)
        elif day < first_open:
            entry.state = "closed"
        elif not entry.slots:
            entry.state = "none"
        shown.append(entry)
    return shown


def next_release(office: OfficeInfo, now: datetime) -> tuple[date, datetime]:
    """The next day to be released, and when."""
    day = office.rules.last_released_date(now.astimezone(office.tz)) + timedelta(days=1)
    return day, office.rules.release_moment(day, office.tz)


def nearest(slots: list[FreeSlot], around: datetime, *, exclude: int | None = None, count: int = 6) -> list[FreeSlot]:
    """The free slots closest in time to ``around`` (a full slot's alternatives), in time order."""
    free = [s for s in slots if s.remaining > 0 and s.slot_id != exclude]
    closest = sorted(free, key=lambda s: (abs((s.starts_at - around).total_seconds()), s.starts_at))[:count]
    return sorted(closest, key=lambda s: s.starts_at)


def slot_label(slot: FreeSlot, tz: str, locale: str) -> str:
    """``9月14日周一 09:00–10:00（剩余 8 个）`` for a list of choices."""
    local = slot.starts_at.astimezone(ZoneInfo(tz))
    day = format_skeleton("MMMEd", local.date(), locale=babel_locale(locale))
    span = f"{format_time(slot.starts_at, tz, locale)}–{format_time(slot.ends_at, tz, locale)}"
    left = gettext("{n} places left", locale).format(n=format_decimal(slot.remaining, locale=babel_locale(locale)))
    return f"{day} {span} · {left}"


def find(slots: list[FreeSlot], slot_id: int) -> FreeSlot | None:
    return next((s for s in slots if s.slot_id == slot_id), None)


async def office_profile(rt: Runtime, office_id: int) -> dict[str, Any]:
    """An office's opening hours (from its weekly schedule) and phone, per process, for a
    minute (``rt.office_profiles``): the office page shows them on every view, and they
    change rarely."""
    hit = rt.office_profiles.get(office_id)
    if hit is not MISSING:
        return hit  # type: ignore[return-value]
    async with rt.db.session() as session:
        row = await session.get(Office, office_id)
        schedule = await get_schedule(session, office_id)
    hours = sorted({Hours(w.weekday, w.start, w.end) for w in schedule.windows},
                   key=lambda h: (h.weekday, h.start))
    profile = {"phone": row.phone if row else None, "city": row.city if row else "",
               "hours": _merge(hours)}
    return rt.office_profiles.put(office_id, profile)


Spans = list[tuple[time, time]]


def _merge(windows: list[Hours]) -> list[tuple[int, int, Spans]]:
    """Opening hours as people write them: runs of weekdays with the same spans (Monday to
    Friday 09:00-12:00 · 14:00-17:00), adjacent windows joined (09-10 and 10-11 are 09-11)."""
    by_day: dict[int, Spans] = {}
    for w in windows:
        spans = by_day.setdefault(w.weekday, [])
        if spans and spans[-1][1] >= w.start:
            spans[-1] = (spans[-1][0], max(spans[-1][1], w.end))
        else:
            spans.append((w.start, w.end))
    runs: list[tuple[int, int, Spans]] = []
    for day, spans in sorted(by_day.items()):
        if runs and runs[-1][1] == day - 1 and runs[-1][2] == spans:
            runs[-1] = (runs[-1][0], day, spans)
        else:
            runs.append((day, day, spans))
    return runs
