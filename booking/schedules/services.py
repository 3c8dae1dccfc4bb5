"""An office's weekly schedule, closures and special openings."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.appointments.schemas import RosterEntry
from booking.appointments.services.changes import cancel_standing, standing_on
from booking.appointments.services.desk import roster_entries
from booking.context import Context
from booking.db.locking import lock_rows
from booking.db.models import Appointment, ClosedReason, Office, OfficeDay, ScheduleWindow, Slot
from booking.db.unique import flush_or
from booking.errors import Conflict, NotFound, invalid
from booking.i18n import lazy
from booking.kernel.audit import record
from booking.offices.services import get_office, lock_office
from booking.schedules.schemas import (
    ClosureCreate,
    OfficeDayOut,
    SpecialOpeningCreate,
    WeeklyScheduleIn,
    WeeklyScheduleOut,
    WeeklyWindowOut,
    WindowOut,
)
from booking.slots.generation import Window, day_plans, weekly_windows, working_day_windows
from booking.slots.services import close_slots, reopen_slots


class DayTaken(Conflict):
    code = "office-day-exists"
    title = lazy("This date already has a closure or special opening.")


class OpeningOverlaps(Conflict):
    code = "special-opening-overlaps"
    title = lazy("The special opening's windows overlap the slots or windows the date already has.")


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
    ctx: Context, office_id: int, data: WeeklyScheduleIn
) -> WeeklyScheduleOut:
    """The weekly schedule is replaced as a whole; slots already generated stay as they are."""
    session, actor = ctx.session, ctx.caller
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


async def _lock_slots(session: AsyncSession, *where: Any) -> list[Slot]:
    return await lock_rows(session, Slot, where=and_(*where))


async def _add_day(session: AsyncSession, row: OfficeDay) -> None:
    session.add(row)
    await flush_or(session, DayTaken())


async def _overlaps(session: AsyncSession, office: Office, day: date, windows: list[Window]) -> bool:
    """Would these windows overlap, for one of their services, a slot the date has (other
    than what a removed opening left behind: adding it back reopens that) or a window its
    weekly schedule gives it?"""
    usual = (await day_plans(session, office.id or 0, day, day, with_exceptions=False))[0].windows
    existing = (await session.execute(select(Slot).where(
        Slot.office_id == office.id, Slot.local_date == day,
        or_(Slot.closed_reason.is_(None), Slot.closed_reason != ClosedReason.OPENING_REMOVED.value)))).scalars()
    tz = ZoneInfo(office.timezone)
    taken = [(s.service, s.starts_at.astimezone(tz).time(), s.ends_at.astimezone(tz).time())
             for s in existing]
    taken += [(service, w.start, w.end) for w in usual for service in w.capacities]
    return any(service == other and w.start < end and start < w.end
               for w in windows for service in w.capacities for other, start, end in taken)


def _closing(office_id: int, day: date) -> tuple[Any, ...]:
    """The slots a closure of ``day`` takes: all of the date's (whatever their service)."""
    return (Slot.office_id == office_id, Slot.local_date == day)


async def closure_preview(ctx: Context, office_id: int, day: date,
                          tz: ZoneInfo) -> tuple[list[RosterEntry], int]:
    """What ``add_closure`` of ``day`` would cancel if saved now (the same slots, the same
    rule of what stands on them), and how many open slots it would close. Read without
    locks: a booking made after the preview is cancelled all the same when it is saved."""
    session, actor = ctx.session, ctx.caller
    actor.require_office(office_id)
    slots = select(Slot.id).where(*_closing(office_id, day))
    appts = list((await session.execute(select(Appointment).where(standing_on(slots))
                                        .order_by(Appointment.starts_at, Appointment.created_at))).scalars())
    open_slots = len((await session.execute(slots.where(Slot.status == "open"))).all())
    return await roster_entries(session, appts, tz), open_slots


async def add_closure(ctx: Context, office_id: int, data: ClosureCreate) -> tuple[OfficeDayOut, int]:
    """Close the office on a date. In one transaction: the date's slots are locked (in id
    order) and the open ones closed, so no booking can land on them any more; then every
    appointment standing on them is cancelled by the office, each couple told (with a
    calendar CANCEL). Returns the number cancelled."""
    session, actor, now = ctx.session, ctx.caller, ctx.now
    actor.require_office(office_id)
    await lock_office(session, office_id)
    row = OfficeDay(office_id=office_id, day=data.date, kind="closure", note=data.note)
    await _add_day(session, row)
    slots = await _lock_slots(session, *_closing(office_id, data.date))
    await close_slots(session, [s for s in slots if s.status == "open"], ClosedReason.CLOSURE)
    cancelled = await cancel_standing(session, actor, [s.id for s in slots if s.id is not None], now,
                                      data.note or None)
    record(session, actor, "office_day.closure.add", target_type="office_day", target_id=data.date.isoformat(),
           office_id=office_id, cancelled_appointments=cancelled, at=now)
    await session.commit()
    return _day_out(row), cancelled


async def add_special_opening(ctx: Context, office_id: int, data: SpecialOpeningCreate) -> OfficeDayOut:
    """Open the office on a date with windows of its own (or the usual working-day ones).
    They come beside what the day already has, never on top: a window that overlaps the
    day's slots or its weekly windows, for the same service, is refused."""
    session, actor, now = ctx.session, ctx.caller, ctx.now
    actor.require_office(office_id)
    office = await lock_office(session, office_id)
    windows = [Window(w.start, w.end, dict(w.capacities)) for w in data.windows or []]
    _check_services([w.capacities for w in windows], office.services, "windows")
    own = [{"start": w.start.isoformat(), "end": w.end.isoformat(), "capacities": w.capacities} for w in windows]
    row = OfficeDay(office_id=office_id, day=data.date, kind="special_opening", note=data.note,
                    windows=own or None)
    await _add_day(session, row)
    if await _overlaps(session, office, data.date, windows or working_day_windows(
            await weekly_windows(session, office_id))):
        await session.rollback()
        raise OpeningOverlaps()
    record(session, actor, "office_day.special_opening.add", target_type="office_day",
           target_id=data.date.isoformat(), office_id=office_id, at=now)
    await session.commit()
    return _day_out(row)


async def remove_day(ctx: Context, office_id: int, kind: str, day: date) -> int:
    """Remove a closure: the slots it closed reopen (slots a clerk closed stay closed).
    Remove a special opening: its own slots close (the office is no longer open then),
    what stands on them is cancelled by the office (couples told), and those nobody ever
    booked are deleted; the day's other slots are not touched. Returns the number of
    appointments cancelled."""
    session, actor, now = ctx.session, ctx.caller, ctx.now
    actor.require_office(office_id)
    await lock_office(session, office_id, active_only=False)
    row = (await session.execute(select(OfficeDay).where(
        OfficeDay.office_id == office_id, OfficeDay.day == day, OfficeDay.kind == kind))).scalar_one_or_none()
    if row is None:
        raise NotFound()
    cancelled = 0
    if kind == "closure":
        slots = await _lock_slots(session, Slot.office_id == office_id, Slot.local_date == day,
                                  Slot.closed_reason == ClosedReason.CLOSURE.value)
        await reopen_slots(session, slots)
    else:
        slots = await _lock_slots(session, Slot.office_id == office_id, Slot.office_day_id == row.id)
        await close_slots(session, slots, ClosedReason.OPENING_REMOVED)
        cancelled = await cancel_standing(session, actor, [s.id for s in slots if s.id is not None], now,
                                          None)
        referenced = select(Appointment.slot_id).where(Appointment.slot_id == Slot.id).exists()
        await session.execute(delete(Slot).where(Slot.id.in_([s.id for s in slots]), ~referenced))  # type: ignore[union-attr]
    await session.delete(row)
    record(session, actor, f"office_day.{kind}.remove", target_type="office_day", target_id=day.isoformat(),
           office_id=office_id, cancelled_appointments=cancelled, at=now)
    await session.commit()
    return cancelled
