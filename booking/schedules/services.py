"""An office's weekly schedule, closures and special openings."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.audit.services import record
from booking.db.models import OfficeDay, ScheduleWindow, Slot
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


async def add_closure(session: AsyncSession, office_id: int, data: ClosureIn, actor: Principal) -> tuple[OfficeDayOut, int]:
    """Close the office on a date: its slots stop being bookable at once.

    Appointments already booked on that date are kept (the office contacts those couples);
    their number is returned so the clerk sees it.
    """
    actor.require_office(office_id)
    await get_office(session, office_id)
    row = OfficeDay(office_id=office_id, day=data.date, kind="closure", note=data.note)
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise DayTaken() from exc
    await session.execute(
        update(Slot).where(Slot.office_id == office_id, Slot.local_date == data.date).values(status="closed")
    )
    booked = sum(
        (await session.execute(
            select(Slot.booked).where(Slot.office_id == office_id, Slot.local_date == data.date)
        )).scalars().all()
    )
    record(session, actor, "office_day.closure.add", target_type="office_day", target_id=data.date.isoformat(),
           office_id=office_id, booked_appointments=booked)
    await session.commit()
    return _day_out(row), booked


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


async def remove_day(session: AsyncSession, office_id: int, kind: str, day: date, actor: Principal) -> None:
    """Remove a closure (its date's slots reopen) or a special opening (its slots without
    bookings are removed; booked ones stay)."""
    actor.require_office(office_id)
    row = (
        await session.execute(
            select(OfficeDay).where(OfficeDay.office_id == office_id, OfficeDay.day == day, OfficeDay.kind == kind)
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound()
    await session.delete(row)
    if kind == "closure":
        await session.execute(
            update(Slot).where(Slot.office_id == office_id, Slot.local_date == day).values(status="open")
        )
    else:
        await session.execute(
            delete(Slot).where(Slot.office_id == office_id, Slot.local_date == day, Slot.booked == 0)
        )
    record(session, actor, f"office_day.{kind}.remove", target_type="office_day", target_id=day.isoformat(),
           office_id=office_id)
    await session.commit()
