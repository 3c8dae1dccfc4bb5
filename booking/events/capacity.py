"""The event's two limits and its waitlist (DESIGN.md 4.1), in SQL.

Every change to an event's counters runs with the event row locked, and the limits are
CHECK constraints as well (``ck_event_places``, ``ck_event_guest_seats``):

- a sign-up takes a place with one conditional UPDATE (``places_taken < capacity`` and the
  guests fit, and nobody waits ahead, unless the event lets fitting couples pass), which
  also draws its arrival ticket; otherwise a second UPDATE, on the opposite condition,
  queues it; the UPDATE that matched holds the row lock until the sign-up commits;
- every change that can free a place or unblock the queue promotes waitlisted couples in
  arrival order in the same transaction (``promote`` walks the queue under the lock): a
  cancellation or rejection, also of a waitlisted couple (the head of the queue may have
  been all that kept a fitting couple waiting), and an edit of the limits or of
  ``waitlist_skip_unfit``. So after every change nobody waits who could have a place,
  which is what ``_fits`` relies on.

Lock order is always the event row first, then sign-up rows, so two changes to one event
queue behind each other instead of deadlocking.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.locking import lock_rows
from booking.db.models import HOLDING_STATUSES, Event, Signup

# The counters are read from the database (RETURNING, or a fresh SELECT), never from an
# ORM object a session may hold: no in-Python re-evaluation of these updates.
NO_SYNC = {"synchronize_session": False}


@dataclass(frozen=True, slots=True)
class Claim:
    placed: bool  # a place (and the guests' seats) was taken; else the couple is queued
    arrival_no: int
    waitlist_position: int | None
    requires_approval: bool


async def lock_event(session: AsyncSession, event_id: uuid.UUID) -> Event | None:
    """The event row, locked until the transaction ends, with fresh values."""
    return next(iter(await lock_rows(session, Event, [event_id])), None)


def _fits(guests: int) -> Any:
    """A newcomer takes a place when one is free, their guests fit the free seats, and
    nobody waits ahead. When anyone waits, the head of the queue did not fit (else it would
    have been promoted), so the newcomer queues behind, unless the event lets fitting
    couples pass (``waitlist_skip_unfit``): then nobody waiting fits, and a fitting
    newcomer goes straight in."""
    return and_(Event.places_taken < Event.capacity, Event.guest_seats_taken + guests <= Event.guest_seats,
                or_(Event.waitlisted == 0, Event.waitlist_skip_unfit.is_(True)))  # type: ignore[attr-defined]


async def claim(session: AsyncSession, event_id: uuid.UUID, guests: int) -> Claim | None:
    """Take a place or join the waitlist; None when the event is no longer published.

    Two conditional UPDATEs whose conditions are each other's negation: exactly one
    matches the row as it is when it is locked, and the one that matches holds the lock
    to the end of the transaction. If neither matched, the row changed between the two
    (a place freed after the first found none): decide again.
    """
    fits = _fits(guests)
    for _attempt in range(10):
        took = (await session.execute(
            update(Event).where(Event.id == event_id, Event.status == "published", fits)
            .values(places_taken=Event.places_taken + 1, guest_seats_taken=Event.guest_seats_taken + guests,
                    arrivals=Event.arrivals + 1)
            .returning(Event.arrivals, Event.requires_approval).execution_options(**NO_SYNC))).first()
        if took is not None:
            return Claim(True, took[0], None, bool(took[1]))
        queued = (await session.execute(
            update(Event).where(Event.id == event_id, Event.status == "published", not_(fits))
            .values(waitlisted=Event.waitlisted + 1, arrivals=Event.arrivals + 1)
            .returning(Event.arrivals, Event.waitlisted, Event.requires_approval)
            .execution_options(**NO_SYNC))).first()
        if queued is not None:
            return Claim(False, queued[0], queued[1], bool(queued[2]))
        status = (await session.execute(select(Event.status).where(Event.id == event_id))).scalar_one_or_none()
        if status != "published":
            return None
    raise RuntimeError("the event kept changing under the sign-up")  # pragma: no cover


async def release(session: AsyncSession, event_id: uuid.UUID, status: str, guests: int) -> None:
    """A sign-up in ``status`` leaves (the event row is locked by the caller)."""
    if status in HOLDING_STATUSES:
        await session.execute(update(Event).where(Event.id == event_id).values(
            places_taken=Event.places_taken - 1, guest_seats_taken=Event.guest_seats_taken - guests)
            .execution_options(**NO_SYNC))
    elif status == "waitlisted":
        await session.execute(update(Event).where(Event.id == event_id).values(waitlisted=Event.waitlisted - 1)
                              .execution_options(**NO_SYNC))


@dataclass(frozen=True, slots=True)
class Promotion:
    signup_id: uuid.UUID
    status: str  # confirmed, or pending_approval when the organiser approves each couple


async def promote(session: AsyncSession, event_id: uuid.UUID, now: datetime) -> list[Promotion]:
    """Promote waitlisted couples into free places, first come first served, under the
    event row lock the caller holds. A couple whose guests do not fit the free seats stops
    the queue, unless the event lets the next fitting couple pass. Nobody is promoted once
    the event has started or been cancelled."""
    event = (await session.execute(
        select(Event.capacity, Event.places_taken, Event.guest_seats, Event.guest_seats_taken,
               Event.waitlist_skip_unfit, Event.requires_approval, Event.status, Event.starts_at)
        .where(Event.id == event_id))).one()
    free, seats = event.capacity - event.places_taken, event.guest_seats - event.guest_seats_taken
    if event.status != "published" or free <= 0 or now >= event.starts_at:
        return []
    waiting = (await session.execute(
        select(Signup.id, Signup.guests).where(Signup.event_id == event_id, Signup.status == "waitlisted")
        .order_by(Signup.arrival_no))).all()
    chosen: list[uuid.UUID] = []
    guests_in = 0
    for signup_id, guests in waiting:
        if len(chosen) == free:
            break
        if guests <= seats - guests_in:
            chosen.append(signup_id)
            guests_in += guests
        elif not event.waitlist_skip_unfit:
            break
    if not chosen:
        return []
    status = "pending_approval" if event.requires_approval else "confirmed"
    moved = (await session.execute(
        update(Signup).where(Signup.id.in_(chosen), Signup.status == "waitlisted")  # type: ignore[attr-defined]
        .values(status=status, promoted_at=now, updated_at=now, sequence=Signup.sequence + 1)
        .returning(Signup.id).execution_options(**NO_SYNC))).all()
    if len(moved) != len(chosen):  # every sign-up change takes the event lock first
        raise RuntimeError("a waitlisted sign-up changed without the event lock")
    # the CHECK constraints refuse this update if the arithmetic above were ever wrong
    await session.execute(update(Event).where(Event.id == event_id).values(
        places_taken=Event.places_taken + len(chosen), guest_seats_taken=Event.guest_seats_taken + guests_in,
        waitlisted=Event.waitlisted - len(chosen)).execution_options(**NO_SYNC))
    return [Promotion(signup_id, status) for signup_id in chosen]


async def recount(session: AsyncSession, event_id: uuid.UUID) -> None:
    """Set the counters from the sign-ups themselves (after a bulk change, e.g. the event's
    cancellation); the event row is locked by the caller."""
    holding = (await session.execute(
        select(func.count(), func.coalesce(func.sum(Signup.guests), 0))
        .where(Signup.event_id == event_id, Signup.status.in_(HOLDING_STATUSES)))).one()  # type: ignore[attr-defined]
    waiting = (await session.execute(
        select(func.count()).where(Signup.event_id == event_id, Signup.status == "waitlisted"))).scalar_one()
    await session.execute(update(Event).where(Event.id == event_id).values(
        places_taken=holding[0], guest_seats_taken=holding[1], waitlisted=waiting).execution_options(**NO_SYNC))


async def waitlist_positions(session: AsyncSession, signups: list[Signup]) -> dict[uuid.UUID, int]:
    """Where each of these waitlisted sign-ups stands in its event's queue (1 = promoted
    next), for any number of sign-ups and events in one query."""
    waiting = [s for s in signups if s.status == "waitlisted"]
    if not waiting:
        return {}
    position = func.row_number().over(partition_by=Signup.event_id, order_by=Signup.arrival_no)
    queues = (select(Signup.id, position.label("position"))
              .where(Signup.event_id.in_({s.event_id for s in waiting}),  # type: ignore[attr-defined]
                     Signup.status == "waitlisted").subquery())
    rows = await session.execute(select(queues.c.id, queues.c.position).where(
        queues.c.id.in_([s.id for s in waiting])))
    return {signup_id: int(position) for signup_id, position in rows.all()}
