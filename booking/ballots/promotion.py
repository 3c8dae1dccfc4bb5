"""A seat that comes free on a drawn ballot's day goes to the first entry waiting for it.

Registered with the appointments' lifecycle at start-up (``on_seat_freed``, in
``booking.background.wiring``), so it runs inside the
transaction of the change that freed the seat (a cancellation, a winner's withdrawal, a
move to another day): no one can book the seat between the two. The ballot row is locked
first, so promotions of one ballot queue behind each other; the next entry in draw order
that can take the slot's time gets it, as a confirmed appointment. Nobody is promoted once
the day's booking has closed (the office's cut-off), nor into a slot the office closed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.ballots.seating import seat_entries
from booking.ballots.services import local_time
from booking.db.locking import lock_rows
from booking.db.models import Appointment, Ballot, BallotEntry, Office, Slot
from booking.offices.directory import office_info

BATCH = 200


async def refill_from_waitlist(session: AsyncSession, appts: Sequence[Appointment], now: datetime,
                               refill: bool) -> None:
    cancelled = [a.id for a in appts if a.status == "cancelled"]
    if cancelled:  # a won appointment cancelled: its entry is over
        await session.execute(update(BallotEntry).where(
            BallotEntry.appointment_id.in_(cancelled), BallotEntry.state == "won")  # type: ignore[attr-defined]
            .values(state="withdrawn", updated_at=now))
    if not refill:
        return
    # one query whatever the batch (a sweep may free many seats): which freed seats lie on a
    # drawn ballot's day; only those are refilled, one by one
    freed = Counter(a.slot_id for a in appts)
    on_ballot_days = (await session.execute(
        select(Slot.id).join(Ballot, and_(Ballot.office_id == Slot.office_id, Ballot.service == Slot.service,
                                          Ballot.day == Slot.local_date, Ballot.state == "drawn"))
        .where(Slot.id.in_(list(freed))))).scalars().all()  # type: ignore[union-attr]
    for slot_id in sorted(on_ballot_days):
        for _seat in range(freed[slot_id]):
            await _refill(session, slot_id, now)


async def _refill(session: AsyncSession, slot_id: int, now: datetime) -> None:
    """The seat of ``slot_id`` (locked by the change that freed it) to the first entry
    waiting for it on a drawn ballot of its day, if any."""
    slot = (await session.execute(select(Slot).where(Slot.id == slot_id)
                                  .execution_options(populate_existing=True))).scalar_one()
    if slot.status != "open" or slot.booked >= slot.capacity or slot.starts_at <= now:
        return
    ballot = (await session.execute(select(Ballot).where(
        Ballot.office_id == slot.office_id, Ballot.service == slot.service, Ballot.day == slot.local_date,
        Ballot.state == "drawn").with_for_update())).scalar_one_or_none()
    if ballot is None:
        return
    office_row = await session.get(Office, slot.office_id)
    assert office_row is not None
    office = office_info(office_row)
    if slot.local_date < office.rules.first_bookable_date(now.astimezone(office.tz)):
        return
    entry = await _first_waiting_for(session, ballot, local_time(slot.starts_at, office))
    if entry is None:
        return
    appointments = await seat_entries(session, office, slot.service, [(entry, slot)], now)
    entry.state = "won"
    entry.appointment_id = appointments[entry.id]
    entry.updated_at = now


async def _first_waiting_for(session: AsyncSession, ballot: Ballot, start: str) -> BallotEntry | None:
    """The first waitlisted entry, in draw order, that named this start time or none,
    locked. Candidates are read without locks (the ballot's lock keeps other promotions
    out); the one chosen is locked and read again, in case its couple withdrew meanwhile."""
    after = 0
    while True:
        batch = list((await session.execute(select(BallotEntry.id, BallotEntry.rank, BallotEntry.times).where(
            BallotEntry.ballot_id == ballot.id, BallotEntry.state == "waitlisted",
            BallotEntry.rank > after)  # type: ignore[operator]
            .order_by(BallotEntry.rank).limit(BATCH))).all())
        for entry_id, rank, times in batch:
            if not times or start in times:
                locked = await lock_rows(session, BallotEntry, [entry_id])
                if locked and locked[0].state == "waitlisted":
                    return locked[0]
        if len(batch) < BATCH:
            return None
        after = batch[-1].rank or 0
