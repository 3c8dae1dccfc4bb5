"""Seats allocated by another area to couples it has already validated (a ballot's winners
and the couples it promotes), and the hook by which such an area hears that a seat came
free.

Both stay here so that the appointment area remains the one owner of appointment status:
the ballots area says whom to place where; this module takes the seats, writes the
confirmed appointments, their parties and the usual outbox rows (confirmation with its
invite, reminders), all in the caller's transaction. When a transition here (a
cancellation, a reschedule) frees a seat, ``seat_freed`` lets the listeners refill it in
the same transaction, before anyone else can take it.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.appointments.book import recipients, reminder_rows
from booking.appointments.codes import new_code
from booking.db.models import Appointment, AppointmentParty, Slot
from booking.notifications.outbox import add_rows, messages
from booking.offices.directory import OfficeInfo


class PartyRecord(Protocol):
    """A validated party as stored (encrypted, hashed, masked), e.g. a ballot entry's."""

    position: int
    name: str
    id_type: str
    id_hash: str
    id_enc: str
    id_masked: str
    phone_enc: str
    phone_hash: str
    phone_masked: str
    sex: str
    birth_date: date
    hukou_province: str | None


@dataclass(frozen=True, slots=True)
class SeatRef:
    id: int
    starts_at: datetime
    ends_at: datetime


@dataclass(slots=True)
class Placement:
    slot: SeatRef
    account_id: uuid.UUID
    locale: str
    parties: Sequence[PartyRecord]
    appointment_id: uuid.UUID


class SeatsGone(Exception):
    """A slot had fewer free seats than the caller counted under its lock: nothing is kept."""


async def place_confirmed(session: AsyncSession, office: OfficeInfo, service: str, placements: list[Placement],
                          now: datetime) -> None:
    """Take one seat per placement (one conditional UPDATE per slot, in slot order) and
    write each confirmed appointment with its parties and outbox rows. The caller holds
    the slots' locks and frees the parties' other holds (a ballot entry) first: the
    partial unique index and the claim trigger refuse a person's second active hold."""
    for slot_id, count in sorted(Counter(p.slot.id for p in placements).items()):
        taken = await session.execute(
            update(Slot).where(Slot.id == slot_id, Slot.status == "open", Slot.booked + count <= Slot.capacity)
            .values(booked=Slot.booked + count).returning(Slot.id).execution_options(synchronize_session=False))
        if taken.first() is None:
            raise SeatsGone()
    appointments, parties, outbox = [], [], []
    for p in placements:
        appointments.append({
            "id": p.appointment_id, "code": new_code(), "office_id": office.id, "slot_id": p.slot.id,
            "service": service, "account_id": p.account_id, "booked_by": p.account_id, "channel": "online",
            "status": "confirmed", "starts_at": p.slot.starts_at, "ends_at": p.slot.ends_at, "locale": p.locale,
            "sequence": 0, "review_reason": None, "created_at": now, "updated_at": now})
        stored = [{
            "id": uuid.uuid4(), "appointment_id": p.appointment_id, "position": x.position, "name": x.name,
            "id_type": x.id_type, "id_hash": x.id_hash, "id_enc": x.id_enc, "id_masked": x.id_masked,
            "phone_enc": x.phone_enc, "phone_hash": x.phone_hash, "phone_masked": x.phone_masked, "sex": x.sex,
            "birth_date": x.birth_date, "hukou_province": x.hukou_province, "service": service, "active": True,
        } for x in p.parties]
        parties += stored
        who = recipients(p.account_id, [_Party(s["id"], s["position"]) for s in stored])
        outbox += messages("appointment.confirmed", "appointment", p.appointment_id, 0, who, p.locale, now)
        outbox += reminder_rows(p.appointment_id, 0, who, p.locale, p.slot.starts_at, office, now)
    if appointments:
        await session.execute(insert(Appointment), appointments)
        await session.execute(insert(AppointmentParty), parties)
        await add_rows(session, outbox, now)


@dataclass(frozen=True, slots=True)
class _Party:
    id: uuid.UUID
    position: int


# --- the seat-freed hook ----------------------------------------------------------------

SeatListener = Callable[[AsyncSession, Appointment, int, datetime, bool], Awaitable[None]]
_LISTENERS: list[SeatListener] = []


def on_seat_freed(fn: SeatListener) -> SeatListener:
    _LISTENERS.append(fn)
    return fn


def _load_listeners() -> None:
    """Import every area that listens (each registers itself), as the notification
    registry loads its renderers."""
    import booking.ballots.promotion  # noqa: F401


async def seat_freed(session: AsyncSession, appt: Appointment, slot_id: int, now: datetime, *,
                     refill: bool = True) -> None:
    """``appt`` gave its seat of ``slot_id`` back (cancelled, or moved away; the slot row is
    locked by the caller). ``refill`` is off when the seat is not to be taken again (the
    office closes the day)."""
    _load_listeners()
    for listener in _LISTENERS:
        await listener(session, appt, slot_id, now, refill)
