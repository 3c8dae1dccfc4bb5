"""A clerk's changes to single slots, and the staff view of an office's slots."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.appointments.services.changes import cancel_standing, standing_on
from booking.context import Context
from booking.db.locking import lock_rows
from booking.db.models import Appointment, ClosedReason, OfficeDay, Slot
from booking.errors import Conflict, NotFound
from booking.i18n import lazy
from booking.kernel.audit import record
from booking.slots.schemas import SlotOut, SlotUpdate


class CapacityBelowBooked(Conflict):
    code = "capacity-below-booked"
    title = lazy("The capacity cannot be lower than the number already booked.")


class SlotClosedWithDay(Conflict):
    code = "slot-closed-with-day"
    title = lazy("This slot was closed with its day; reopen the day instead.")


def slot_out(slot: Slot) -> SlotOut:
    return SlotOut(id=slot.id or 0, office_id=slot.office_id, service=slot.service, date=slot.local_date,
                   starts_at=slot.starts_at, ends_at=slot.ends_at, capacity=slot.capacity, booked=slot.booked,
                   status=slot.status, closed_reason=slot.closed_reason)


async def close_slots(session: AsyncSession, slots: Sequence[Slot], reason: ClosedReason) -> None:
    """Close locked slots for ``reason``; what a closed slot already is closed for stays
    (a clerk's closing outlives the day's closure) except when its opening is removed,
    which ends the slot for good."""
    for slot in slots:
        if slot.status == "open" or reason is ClosedReason.OPENING_REMOVED:
            slot.status = "closed"
            slot.closed_reason = reason.value
    await session.flush()


async def reopen_slots(session: AsyncSession, slots: Sequence[Slot]) -> None:
    for slot in slots:
        slot.status = "open"
        slot.closed_reason = None
    await session.flush()


async def get_slot_for_staff(session: AsyncSession, slot_id: int, actor: Principal, *,
                             lock: bool = False) -> Slot:
    if lock:
        slot = next(iter(await lock_rows(session, Slot, [slot_id])), None)
    else:
        slot = await session.get(Slot, slot_id)
    if slot is None or not actor.manages_office(slot.office_id):
        raise NotFound()
    return slot


async def patch_slot(ctx: Context, slot_id: int, data: SlotUpdate) -> Slot:
    """Change capacity (never below what is booked: the CHECK constraint backs the check
    made here under the slot's lock) or open/close a slot. Closing a slot cancels, as the
    office, what stands on it (each couple told, as a closure of the day does): no active
    appointment stands on a closed slot. A clerk reopens only a slot a clerk closed, and
    not while its day is closed."""
    session, actor, now = ctx.session, ctx.caller, ctx.now
    slot = await get_slot_for_staff(session, slot_id, actor, lock=True)
    values: dict[str, object] = {}
    if data.capacity is not None:
        values["capacity"] = data.capacity
        if data.capacity < slot.booked:
            await _refuse(session, actor, slot, CapacityBelowBooked(booked=slot.booked), values)
        slot.capacity = data.capacity
    if data.status == "closed" and slot.status == "open":
        values["status"] = "closed"
        await close_slots(session, [slot], ClosedReason.CLERK)
        values["cancelled_appointments"] = await cancel_standing(session, actor, [slot_id], now, data.note or None)
    elif data.status == "open" and slot.status != "open":
        values["status"] = "open"
        if slot.closed_reason != ClosedReason.CLERK or await _day_closed(session, slot):
            await _refuse(session, actor, slot, SlotClosedWithDay(closed_reason=slot.closed_reason), values)
        await reopen_slots(session, [slot])
    record(session, actor, "slot.update", target_type="slot", target_id=slot_id, office_id=slot.office_id,
           **values)
    await session.commit()
    await session.refresh(slot)  # the seats released by the cancellations were counted in SQL
    return slot


async def close_preview(ctx: Context, slot_id: int) -> tuple[Slot, list[Appointment]]:
    """The slot, and what closing it would cancel if done now (the rule ``patch_slot``'s
    closing applies: ``cancel_standing``'s). Read without locks."""
    session, actor = ctx.session, ctx.caller
    slot = await get_slot_for_staff(session, slot_id, actor)
    standing = (await session.execute(select(Appointment).where(standing_on([slot_id]))
                                      .order_by(Appointment.created_at))).scalars().all()
    return slot, list(standing)


async def _day_closed(session: AsyncSession, slot: Slot) -> bool:
    """A closure of the slot's date: read after the slot's lock, so a closure that took the
    slot before us has committed and is seen; one that comes after closes it again."""
    return (await session.execute(select(OfficeDay.id).where(
        OfficeDay.office_id == slot.office_id, OfficeDay.day == slot.local_date,
        OfficeDay.kind == "closure"))).first() is not None


async def _refuse(session: AsyncSession, actor: Principal, slot: Slot, problem: Conflict,
                  values: dict[str, object]) -> NoReturn:
    slot_id, office_id = slot.id, slot.office_id
    await session.rollback()
    record(session, actor, "slot.update", target_type="slot", target_id=slot_id, office_id=office_id,
           outcome=f"refused:{problem.code}", **values)
    await session.commit()
    raise problem


async def list_slots(
    ctx: Context, office_id: int, start: date, end: date, service: str | None
) -> list[Slot]:
    session, actor = ctx.session, ctx.caller
    actor.require_office(office_id)
    query = select(Slot).where(Slot.office_id == office_id, Slot.local_date >= start, Slot.local_date <= end)
    if service:
        query = query.where(Slot.service == service)
    return list((await session.execute(query.order_by(Slot.starts_at, Slot.service))).scalars().all())
