"""Slot generation: from an office's schedule and the official calendar to slots.

``plan_days`` is pure (schedule, exceptions, calendar in; the windows of each day out);
``generate_slots`` inserts what is missing with ON CONFLICT, so running it twice creates
nothing new, and never touches an existing slot (booked or not) but one: a slot whose
special opening was removed comes back open when the opening is added again and its
window generated. A special opening's own windows come beside the day's usual ones
(adding overlapping ones is refused, ``schedules.services``), and its slots remember it,
so removing it closes only them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from booking.context import Context
from booking.db.locking import lock_rows
from booking.db.models import ClosedReason, OfficeDay, ScheduleWindow, Slot
from booking.errors import Conflict
from booking.i18n import lazy
from booking.kernel.audit import record
from booking.offices.services import lock_office
from booking.schedules.official_calendar import DayKind, official_day, unannounced_years


class CalendarUnannounced(Conflict):
    code = "holiday-calendar-unannounced"
    title = lazy("The official holiday and make-up working day schedule for this year is not published yet.")


@dataclass(frozen=True, slots=True)
class Window:
    start: time
    end: time
    capacities: dict[str, int]
    opening: int | None = None  # the special opening (office_day id) whose own window this is


@dataclass(slots=True)
class DayPlan:
    day: date
    status: str  # open | holiday | weekend | closure | makeup_workday | special_opening | no_schedule
    windows: list[Window] = field(default_factory=list)
    holiday: str | None = None
    announced: bool = True


def working_day_windows(weekly: dict[int, list[Window]]) -> list[Window]:
    """The windows of a make-up working day (调休) or a special opening without its own.

    The State Council's notice says which weekend day is worked, not which weekday it
    stands for; offices open as on a normal working day, taken here as the first of Monday
    to Friday that has windows.
    """
    for weekday in range(1, 6):
        if weekly.get(weekday):
            return weekly[weekday]
    return []


def plan_days(
    start: date, end: date, weekly: dict[int, list[Window]], exceptions: dict[date, OfficeDay]
) -> list[DayPlan]:
    plans: list[DayPlan] = []
    day = start
    while day <= end:
        official = official_day(day)
        exception = exceptions.get(day)
        if exception is not None and exception.kind == "closure":
            plan = DayPlan(day, "closure")
        elif exception is not None:  # special opening: its windows beside the day's usual ones
            own = [Window(time.fromisoformat(w["start"]), time.fromisoformat(w["end"]), w["capacities"])
                   for w in exception.windows or []] or working_day_windows(weekly)
            usual = plan_days(day, day, weekly, {})[0]
            opening = [Window(w.start, w.end, w.capacities, exception.id) for w in own]
            plan = DayPlan(day, "special_opening", sorted(usual.windows + opening, key=lambda w: w.start))
        elif official.kind is DayKind.HOLIDAY:
            plan = DayPlan(day, "holiday")
        elif official.kind is DayKind.MAKEUP_WORKDAY:
            plan = DayPlan(day, "makeup_workday", working_day_windows(weekly))
        else:
            windows = weekly.get(day.isoweekday(), [])
            status = "open" if windows else ("weekend" if official.kind is DayKind.WEEKEND else "no_schedule")
            plan = DayPlan(day, status, windows)
        plan.holiday = official.holiday
        plan.announced = official.announced
        plans.append(plan)
        day += timedelta(days=1)
    return plans


def slot_rows(office_id: int, tz: ZoneInfo, plans: Iterable[DayPlan], services: list[str],
              now: datetime) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for plan in plans:
        for window in plan.windows:
            starts = datetime.combine(plan.day, window.start, tzinfo=tz).astimezone(UTC)
            ends = datetime.combine(plan.day, window.end, tzinfo=tz).astimezone(UTC)
            for service, capacity in window.capacities.items():
                if service in services and capacity > 0:
                    rows.append({"office_id": office_id, "service": service, "local_date": plan.day,
                                 "starts_at": starts, "ends_at": ends, "capacity": capacity, "booked": 0,
                                 "status": "open", "office_day_id": window.opening, "created_at": now})
    return rows


async def weekly_windows(session: AsyncSession, office_id: int) -> dict[int, list[Window]]:
    weekly: dict[int, list[Window]] = {}
    for w in (await session.execute(select(ScheduleWindow).where(ScheduleWindow.office_id == office_id)
                                    .order_by(ScheduleWindow.start_time))).scalars():
        weekly.setdefault(w.weekday, []).append(Window(w.start_time, w.end_time, w.capacities))
    return weekly


async def day_plans(session: AsyncSession, office_id: int, start: date, end: date, *,
                    with_exceptions: bool = True) -> list[DayPlan]:
    """The office's plan for these dates, from its weekly schedule and (unless told not to)
    its closures and special openings."""
    exceptions = {}
    if with_exceptions:
        exceptions = {d.day: d for d in (await session.execute(select(OfficeDay).where(
            OfficeDay.office_id == office_id, OfficeDay.day >= start, OfficeDay.day <= end))).scalars()}
    return plan_days(start, end, await weekly_windows(session, office_id), exceptions)


async def _reopen_removed(session: AsyncSession, office_id: int, start: date, end: date,
                          rows: list[dict[str, Any]]) -> int:
    """Slots a removed special opening left closed (kept for the appointments that stood on
    them) that the plan has again: reopened as the plan's (locked first), and taken out of
    ``rows``. Returns how many."""
    left = {(s.service, s.starts_at): s.id for s in (await session.execute(select(Slot).where(
        Slot.office_id == office_id, Slot.local_date >= start, Slot.local_date <= end,
        Slot.closed_reason == ClosedReason.OPENING_REMOVED.value))).scalars()}
    planned = {(r["service"], r["starts_at"]): r for r in rows if (r["service"], r["starts_at"]) in left}
    if not planned:
        return 0
    for slot in await lock_rows(session, Slot, [left[k] for k in planned]):
        row = planned[(slot.service, slot.starts_at)]
        slot.status, slot.closed_reason = "open", None
        slot.ends_at, slot.capacity = row["ends_at"], row["capacity"]
        slot.office_day_id = row["office_day_id"]
        rows.remove(row)
    await session.flush()
    return len(planned)


async def preview_days(ctx: Context, office_id: int, start: date,
                       end: date) -> tuple[list[DayPlan], list[int]]:
    """What ``generate_slots`` would plan for these dates (its own plan: open and closed days,
    their windows), and the years whose holidays it would have to guess. Nothing is written."""
    session, actor = ctx.session, ctx.caller
    actor.require_office(office_id)
    return await day_plans(session, office_id, start, end), unannounced_years(start, end)


@dataclass(slots=True)
class GenerationResult:
    created: int
    existing: int
    days: list[DayPlan]
    assumed_years: list[int]


async def generate_slots(
    ctx: Context,
    office_id: int,
    start: date,
    end: date,
    *,
    allow_unannounced: bool = False,
) -> GenerationResult:
    session, actor, now = ctx.session, ctx.caller, ctx.now
    actor.require_office(office_id)
    office = await lock_office(session, office_id)  # the day exceptions cannot change under us
    unknown = unannounced_years(start, end)
    if unknown and not allow_unannounced:
        raise CalendarUnannounced(
            lazy("Generating {years} would guess the holidays. Ask again with allow_unannounced_years set "
                 "to generate with statutory holidays only and no make-up working days.",
                 years=", ".join(str(y) for y in unknown)),
            years=unknown,
        )
    plans = await day_plans(session, office_id, start, end)
    rows = slot_rows(office_id, ZoneInfo(office.timezone), plans, office.services, now)
    planned = len(rows)
    created = await _reopen_removed(session, office_id, start, end, rows)
    if rows:
        insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert  # type: ignore[union-attr]
        for chunk in range(0, len(rows), 500):  # stay far below the bind-parameter limits
            statement = (
                insert(Slot)
                .values(rows[chunk : chunk + 500])
                .on_conflict_do_nothing(index_elements=["office_id", "service", "starts_at"])
                .returning(Slot.id)  # type: ignore[arg-type]
            )
            created += len((await session.execute(statement)).all())
    record(session, actor, "slots.generate", target_type="office", target_id=office_id, office_id=office_id,
           start=start.isoformat(), end=end.isoformat(), created=created, assumed_years=unknown)
    await session.commit()
    return GenerationResult(created=created, existing=planned - created, days=plans, assumed_years=unknown)
