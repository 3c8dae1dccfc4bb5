"""A clerk's changes to single slots, and the staff view of an office's slots."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.audit.services import record
from booking.db.models import Slot
from booking.errors import Conflict, NotFound
from booking.i18n import lazy
from booking.slots.schemas import SlotOut, SlotPatch


class CapacityBelowBooked(Conflict):
    code = "capacity-below-booked"
    title = lazy("The capacity cannot be lower than the number already booked.")


def slot_out(slot: Slot) -> SlotOut:
    return SlotOut(id=slot.id or 0, office_id=slot.office_id, service=slot.service, date=slot.local_date,
                   starts_at=slot.starts_at, ends_at=slot.ends_at, capacity=slot.capacity, booked=slot.booked,
                   status=slot.status)


async def get_slot_for_staff(session: AsyncSession, slot_id: int, actor: Principal) -> Slot:
    slot = await session.get(Slot, slot_id)
    if slot is None or not actor.manages_office(slot.office_id):
        raise NotFound()
    return slot


async def patch_slot(session: AsyncSession, slot_id: int, data: SlotPatch, actor: Principal) -> Slot:
    """Change capacity (never below what is booked: a conditional update, backed by the
    CHECK constraint) or open/close a slot."""
    slot = await get_slot_for_staff(session, slot_id, actor)
    office_id = slot.office_id
    values: dict[str, object] = {}
    if data.capacity is not None:
        values["capacity"] = data.capacity
    if data.status is not None:
        values["status"] = data.status
    if values:
        statement = update(Slot).where(Slot.id == slot_id)
        if data.capacity is not None:
            statement = statement.where(Slot.booked <= data.capacity)
        result = await session.execute(statement.values(**values).returning(Slot.booked))
        if result.first() is None:
            booked = (await session.execute(select(Slot.booked).where(Slot.id == slot_id))).scalar_one()
            await session.rollback()
            problem = CapacityBelowBooked(booked=booked)
            record(session, actor, "slot.update", target_type="slot", target_id=slot_id, office_id=office_id,
                   outcome=f"refused:{problem.code}", **values)
            await session.commit()
            raise problem
    record(session, actor, "slot.update", target_type="slot", target_id=slot_id, office_id=office_id,
           **{k: v for k, v in values.items()})
    await session.commit()
    await session.refresh(slot)
    return slot


async def list_slots(
    session: AsyncSession, office_id: int, actor: Principal, start: date, end: date, service: str | None
) -> list[Slot]:
    actor.require_office(office_id)
    query = select(Slot).where(Slot.office_id == office_id, Slot.local_date >= start, Slot.local_date <= end)
    if service:
        query = query.where(Slot.service == service)
    return list((await session.execute(query.order_by(Slot.starts_at, Slot.service))).scalars().all())
