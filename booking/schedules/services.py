"""An office's weekly schedule, closures and special openings."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.appointments.changes import cancel_day
from booking.audit.services import record
from booking.db.models import Appointment, OfficeDay, ScheduleWindow, Slot
from booking.errors import Conflict, NotFound, invalid
from booking.i18n import lazy
from booking.offices.services import get_office
from booking.schedules.schemas import (
    ClosureIn,
    OfficeDayOut,
    SpecialOpeningIn,
    WeeklyScheduleIn,
    WeeklyScheduleOut,
    WeeklyWindowOut,
    WindowOut,
)


class DayTaken(Conflict):
    code = "office-day-exists"
    title = lazy("This date already has a closure or special opening.")


def _check_services(capacities: list[dict[str, Any]], offered: list[str], field: str) -> None:
    for caps in capacities:
        for service in caps:
            if service not in offered:
                raise invalid(field, lazy("The office does not offer this service."))


async def get_schedule(session: AsyncSession, office_id: int) -> WeeklyScheduleOut:
    rows = (
        await session.execute(
            select(ScheduleWindow)
            .where(ScheduleWindow.office_id == office_id)
            .order_by(ScheduleWindow.weekday, ScheduleWindow.start_time)
        )
    ).scalars().all()
    return WeeklyScheduleOut(
        office_id=office_id,
        windows=[WeeklyWindowOut(weekday=r.weekday, start=r.start_time, end=r.end_time, capacities=r.capacities)
                 for r in rows],
    )


async def replace_schedule(
    session: AsyncSession, office_id: int, data: WeeklyScheduleIn, actor: Principal
) -> WeeklyScheduleOut:
    """The weekly schedule is replaced as a whole; slots already generated stay as they are."""
    actor.require_office(office_id)
    office = await get_office(session, office_id)
    _check_services([w.capacities for w in data.windows], office.services, "windows")
    await session.execute(delete(ScheduleWindow).where(ScheduleWindow.office_id == office_id))
    for w in data.windows:
        session.add(ScheduleWindow(office_id=office_id, weekday=w.weekday, start_time=w.start, end_time=w.end,
                                   capacities=dict(w.capacities)))
    record(session, actor, "schedule.replace", target_type="office", target_id=office_id, office_id=office_id,
           windows=len(data.windows))
    await session.commit()
    return await get_schedule(session, office_id)


def _day_out(row: OfficeDay) -> OfficeDayOut:
    windows = None
    if row.windows is not None:
        windows = [WindowOut(start=w["start"], end=w["end"], capacities=w["capacities"]) for w in row.windows]
    return OfficeDayOut(date=row.day, kind=row.kind, note=row.note, windows=windows)  # type: ignore[arg-type]


async def list_days(
    session: AsyncSession, office_id: int, kind: str, start: date | None, end: date | None
) -> list[OfficeDayOut]:
    query = select(OfficeDay).where(OfficeDay.office_id == office_id, OfficeDay.kind == kind)
    if start:
        query = query.where(OfficeDay.day >= start)
    if end:
        query = query.where(OfficeDay.day <= end)
    rows = (await session.execute(query.order_by(OfficeDay.day))).scalars().all()
    return [_day_out(r) for r in rows]


def _day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(timezone)
    return (datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC),
            datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC))


async def _lock_day_slots(session: AsyncSession, office_id: int, day: date) -> None:
    """Lock the date's slots in id order, after any appointment rows (the order booking
    changes use), so a closure and a reschedule can wait on each other but not deadlock."""
    await session.execute(select(Slot.id).where(Slot.office_id == office_id, Slot.local_date == day)
                          .order_by(Slot.id).with_for_update())


async def add_closure(session: AsyncSession, office_id: int, data: ClosureIn, actor: Principal,
                      now: datetime) -> tuple[OfficeDayOut, int]:
    """Close the office on a date: its open slots stop being bookable at once, and every
    appointment still standing on that date is cancelled by the office, each couple told
    (with a calendar CANCEL). Returns the number cancelled."""
    actor.require_office(office_id)
    office = await get_office(session, office_id)
    row = OfficeDay(office_id=office_id, day=data.date, kind="closure", note=data.note)
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise DayTaken() from exc
    start, end = _day_bounds(data.date, office.timezone)
    cancelled = await cancel_day(session, office_id, start, end, now, data.note or None)
    await _lock_day_slots(session, office_id, data.date)
    await session.execute(update(Slot).where(Slot.office_id == office_id, Slot.local_date == data.date,
                                             Slot.status == "open").values(status="day_closed"))
    record(session, actor, "office_day.closure.add", target_type="office_day", target_id=data.date.isoformat(),
           office_id=office_id, cancelled_appointments=len(cancelled), at=now)
    await session.commit()
    return _day_out(row), len(cancelled)


async def add_special_opening(
    session: AsyncSession, office_id: int, data: SpecialOpeningIn, actor: Principal
) -> OfficeDayOut:
    actor.require_office(office_id)
    office = await get_office(session, office_id)
    windows = None
    if data.windows:
        _check_services([w.capacities for w in data.windows], office.services, "windows")
        windows = [{"start": w.start.isoformat(), "end": w.end.isoformat(), "capacities": dict(w.capacities)}
                   for w in data.windows]
    row = OfficeDay(office_id=office_id, day=data.date, kind="special_opening", note=data.note, windows=windows)
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise DayTaken() from exc
    record(session, actor, "office_day.special_opening.add", target_type="office_day",
           target_id=data.date.isoformat(), office_id=office_id)
    await session.commit()
    return _day_out(row)


async def remove_day(session: AsyncSession, office_id: int, kind: str, day: date, actor: Principal,
                     now: datetime) -> int:
    """Remove a closure: the slots it closed reopen (slots a clerk closed stay closed).
    Remove a special opening: the office is no longer open that day, so its standing
    appointments are cancelled by the office (couples told), slots nobody ever booked are
    deleted and the others closed. Returns the number of appointments cancelled."""
    actor.require_office(office_id)
    office = await get_office(session, office_id, active_only=False)
    row = (
        await session.execute(
            select(OfficeDay).where(OfficeDay.office_id == office_id, OfficeDay.day == day, OfficeDay.kind == kind)
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound()
    await session.delete(row)
    cancelled: list[Any] = []
    if kind == "closure":
        await _lock_day_slots(session, office_id, day)
        await session.execute(update(Slot).where(Slot.office_id == office_id, Slot.local_date == day,
                                                 Slot.status == "day_closed").values(status="open"))
    else:
        start, end = _day_bounds(day, office.timezone)
        cancelled = await cancel_day(session, office_id, start, end, now, None)
        await _lock_day_slots(session, office_id, day)
        referenced = select(Appointment.slot_id).where(Appointment.slot_id == Slot.id).exists()
        await session.execute(delete(Slot).where(Slot.office_id == office_id, Slot.local_date == day, ~referenced))
        await session.execute(update(Slot).where(Slot.office_id == office_id, Slot.local_date == day)
                              .values(status="day_closed"))
    record(session, actor, f"office_day.{kind}.remove", target_type="office_day", target_id=day.isoformat(),
           office_id=office_id, cancelled_appointments=len(cancelled), at=now)
    await session.commit()
    return len(cancelled)
