"""Creating, editing and listing offices."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.context import Context
from booking.db.locking import lock_rows
from booking.db.models import Office, Slot
from booking.db.unique import flush_or
from booking.errors import Conflict, NotFound
from booking.i18n import lazy
from booking.kernel.audit import record
from booking.offices.rules import BookingRules, rules_of
from booking.offices.schemas import OfficeCreate, OfficeOut, OfficeUpdate


class OfficeCodeTaken(Conflict):
    code = "office-code-taken"
    title = lazy("An office with this code already exists.")


async def create_office(ctx: Context, data: OfficeCreate) -> Office:
    session, actor, now = ctx.session, ctx.caller, ctx.now
    office = Office(**data.model_dump(exclude={"rules"}), rules=data.rules.model_dump(mode="json"),
                    created_at=now, updated_at=now)
    session.add(office)
    await flush_or(session, OfficeCodeTaken())
    record(session, actor, "office.create", target_type="office", target_id=office.id, office_id=office.id,
           code=office.code)
    await session.commit()
    return office


class OfficeHasFutureSlots(Conflict):
    code = "office-has-future-slots"
    title = lazy("The office's timezone or province cannot change while it has slots to come.")


# what slots and bookings are fixed in: a slot's local date, the jurisdiction of its bookings
SETTLED_BY_SLOTS = ("timezone", "province_code")


async def update_office(ctx: Context, office_id: int, data: OfficeUpdate) -> Office:
    """Edit an office. Its timezone and province are refused while slots are to come: each
    slot keeps the local date it was made for, and its bookings were judged by the
    province's policy (an office that moves closes or lets its slots run out first)."""
    session, actor, now = ctx.session, ctx.caller, ctx.now
    office = await lock_office(session, office_id, active_only=False)  # beside slot generation
    changes = data.model_dump(exclude_unset=True)
    moved = sorted(f for f in SETTLED_BY_SLOTS if f in changes and changes[f] != getattr(office, f))
    if moved and (await session.execute(select(Slot.id).where(
            Slot.office_id == office_id, Slot.starts_at > now).limit(1))).first() is not None:
        await session.rollback()
        raise OfficeHasFutureSlots(fields=moved)
    if "rules" in changes:
        changes["rules"] = data.rules.model_dump(mode="json") if data.rules else BookingRules().model_dump(mode="json")
    for key, value in changes.items():
        setattr(office, key, value)
    office.updated_at = now
    record(session, actor, "office.update", target_type="office", target_id=office.id, office_id=office.id,
           fields=sorted(changes))
    await session.commit()
    return office


async def lock_office(session: AsyncSession, office_id: int, *, active_only: bool = True) -> Office:
    """The office's schedule lock, first in the lock order (``booking.db.locking``):
    closures, special openings, slot generation and timezone or province changes of one
    office take turns. ``FOR NO KEY UPDATE``: the writes that reference the office, whose
    foreign keys only share the key, never wait on it."""
    found = await lock_rows(session, Office, [office_id], key_share=True)
    if not found or (active_only and not found[0].is_active):
        raise NotFound()
    return found[0]


async def get_office(session: AsyncSession, office_id: int, *, active_only: bool = True) -> Office:
    office = await session.get(Office, office_id)
    if office is None or (active_only and not office.is_active):
        raise NotFound()
    return office


async def list_offices(
    session: AsyncSession, *, province: str | None, service: str | None, limit: int, offset: int
) -> tuple[list[Office], int]:
    query = select(Office).where(Office.is_active.is_(True))  # type: ignore[attr-defined]
    if province:
        query = query.where(Office.province_code == province)
    rows = (await session.execute(query.order_by(Office.province_code, Office.code))).scalars().all()
    # The services filter runs here: JSON containment differs between PostgreSQL and SQLite,
    # and an office list is small (hundreds per province at most).
    if service:
        rows = [o for o in rows if service in (o.services or [])]
    return list(rows[offset : offset + limit]), len(rows)


def office_public(office: Office, locale: str) -> OfficeOut:
    zh = locale.startswith("zh")
    return OfficeOut(
        id=office.id or 0,
        code=office.code,
        name=office.name_zh if zh else office.name_en,
        name_zh=office.name_zh,
        name_en=office.name_en,
        province_code=office.province_code,
        division_code=office.division_code,
        city=office.city,
        address=office.address_zh if zh or not office.address_en else office.address_en,
        timezone=office.timezone,
        email=office.email,
        phone=office.phone,
        services=list(office.services or []),
        rules=rules_of(office.rules),
    )
