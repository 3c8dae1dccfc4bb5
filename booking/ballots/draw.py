"""The draw: exactly once per ballot, in one transaction, by the worker at its moment or by
a clerk by hand.

Exactly once: the draw starts with a compare-and-swap on the ballot's state
(``UPDATE ballot SET state = 'drawn' ... WHERE state = 'open' AND draw_at <= now``). A
second worker (or a clerk) running the same draw at the same moment waits on that row
until the first commits, then finds the state changed and does nothing; if the first
rolls back, the second draws. Entries in flight hold the same row FOR SHARE, so the draw
also waits for them and sees every entry that committed.

In the same transaction: the seed is revealed, the order computed (``order``), the day's
slots locked, the winners placed as confirmed appointments (with their notices, invites
and reminders), everyone else waitlisted in draw order and told, and the draw audited.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import SYSTEM, Principal
from booking.appointments.services.lifecycle import SeatsGone
from booking.ballots import order
from booking.ballots.entries import leave_entry
from booking.ballots.problems import AlreadyDrawn, DrawNotDue
from booking.ballots.seating import seat_entries
from booking.ballots.services import SEED_CONTEXT, free_seats, local_time
from booking.context import Context
from booking.db.locking import lock_rows
from booking.db.models import Ballot, BallotEntry, BallotEntryParty
from booking.errors import NotFound
from booking.kernel.access import refuse
from booking.kernel.audit import record
from booking.notifications.outbox import OutboxRow, Recipients, add_rows, messages
from booking.runtime import Runtime

logger = logging.getLogger("booking.ballots")

# the latest an office's booking closes before a day (BookingRules.cutoff_days_before, plus one)
MAX_CUTOFF_DAYS = 31


class _Retry(Exception):
    """A random appointment code collided, or the seats changed under the draw: the whole
    transaction rolled back and the draw runs again."""


async def run_draw(rt: Runtime, ballot_id: uuid.UUID, *, by: Principal | None = None) -> bool:
    """Draw the ballot if its moment has come and nobody has drawn it; False otherwise."""
    for _attempt in range(5):
        try:
            return await _draw(rt, ballot_id, by)
        except _Retry:
            continue
    raise RuntimeError("the draw kept failing to place its winners")  # pragma: no cover


async def _draw(rt: Runtime, ballot_id: uuid.UUID, by: Principal | None) -> bool:
    now = rt.clock.now()
    async with rt.db.session() as session:
        claimed = (await session.execute(
            update(Ballot).where(Ballot.id == ballot_id, Ballot.state == "open", Ballot.draw_at <= now)
            .values(state="drawn", drawn_at=now, drawn_by=by.id if by else None)
            .returning(Ballot.id).execution_options(synchronize_session=False))).first()
        if claimed is None:
            return False
        ballot = (await session.execute(select(Ballot).where(Ballot.id == ballot_id)
                                        .execution_options(populate_existing=True))).scalar_one()
        office = await rt.offices.of(ballot.office_id, session)
        seed = bytes.fromhex(rt.vault.decrypt(ballot.seed_enc, context=SEED_CONTEXT))
        entries = {e.id: e for e in (await session.execute(select(BallotEntry).where(
            BallotEntry.ballot_id == ballot_id, BallotEntry.state == "entered"))).scalars()}
        seats, slots = await free_seats(session, office, ballot.service, ballot.day, lock=True)
        drawn = order.draw_order(seed, entries)
        won = order.allot(drawn, {i: e.times for i, e in entries.items()}, seats)
        slot_at = {local_time(s.starts_at, office): s for s in slots}
        try:
            appointments = await seat_entries(session, office, ballot.service,
                                              [(entries[i], slot_at[won[i]]) for i in drawn if i in won], now)
        except (IntegrityError, SeatsGone):
            await session.rollback()
            raise _Retry() from None
        updates: list[dict[str, Any]] = []
        waiting: list[tuple[BallotEntry, int]] = []
        for rank, entry_id in enumerate(drawn, start=1):
            result = "won" if entry_id in won else "waitlisted"
            updates.append({"id": entry_id, "rank": rank, "draw_result": result, "state": result,
                            "appointment_id": appointments.get(entry_id), "updated_at": now})
            if result == "waitlisted":
                waiting.append((entries[entry_id], len(waiting) + 1))
        if updates:
            await session.execute(update(BallotEntry), updates)
        ballot.seed = seed.hex()
        ballot.capacity = sum(seats.values())
        ballot.seats = seats
        await add_rows(session, await _waitlisted_notices(session, waiting, now), now)
        record(session, by or SYSTEM, "ballot.draw", target_type="ballot", target_id=ballot.id,
               office_id=ballot.office_id, at=now, entries=len(drawn), won=len(won), waitlisted=len(waiting),
               by_hand=by is not None)
        await session.commit()
    logger.info("ballot drawn", extra={"ballot_id": str(ballot_id), "entries": len(drawn), "won": len(won)})
    return True


async def _waitlisted_notices(session: AsyncSession, waiting: list[tuple[BallotEntry, int]],
                              now: datetime) -> list[OutboxRow]:
    """Each waitlisted couple hears its position: by e-mail, and by SMS to its first party."""
    contact: dict[uuid.UUID, uuid.UUID] = {}
    ids = [entry.id for entry, _position in waiting]
    for start in range(0, len(ids), 1000):
        contact.update((entry_id, party_id) for party_id, entry_id in (await session.execute(
            select(BallotEntryParty.id, BallotEntryParty.entry_id).where(
                BallotEntryParty.entry_id.in_(ids[start:start + 1000]),  # type: ignore[attr-defined]
                BallotEntryParty.position == 1))).all())
    return [row for entry, position in waiting for row in messages(
        "ballot.waitlisted", "ballot_entry", entry.id, 1, Recipients(entry.account_id, contact.get(entry.id)),
        entry.locale, now, payload={"position": position})]


async def draw_by_hand(ctx: Context, ballot_id: uuid.UUID) -> None:
    """A clerk of the office runs the draw now (the worker was down, say): only once its
    moment has passed and only if it has not run."""
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    ballot = await session.get(Ballot, ballot_id)
    if ballot is None or not principal.manages_office(ballot.office_id):
        raise NotFound()
    now = rt.clock.now()
    if ballot.state == "drawn":
        await refuse(session, principal, "ballot.draw", ballot, AlreadyDrawn(), target_type="ballot", at=now)
    if now < ballot.draw_at:
        await refuse(session, principal, "ballot.draw", ballot, DrawNotDue(draw_at=ballot.draw_at.isoformat()),
                     target_type="ballot", at=now)
    await session.rollback()  # the draw runs in its own transaction
    if not await run_draw(rt, ballot_id, by=principal):  # the worker was quicker
        drawn = await session.get(Ballot, ballot_id)  # read again: the rollback expired it
        assert drawn is not None
        await refuse(session, principal, "ballot.draw", drawn, AlreadyDrawn(), target_type="ballot", at=now)


async def draw_due(rt: Runtime) -> int:
    """The worker's periodic job: every ballot whose moment has come, drawn once."""
    now = rt.clock.now()
    async with rt.db.session() as session:
        due = list((await session.execute(select(Ballot.id).where(
            Ballot.state == "open", Ballot.draw_at <= now).order_by(Ballot.draw_at).limit(50))).scalars())
    drawn = 0
    for ballot_id in due:
        drawn += await run_draw(rt, ballot_id)
    return drawn


async def lapse_waitlists(rt: Runtime) -> int:
    """Once a day's booking has closed, nobody can be promoted into it any more: its
    waitlisted entries lapse and their parties are free to book or enter elsewhere."""
    now = rt.clock.now()
    lapsed = 0
    async with rt.db.session() as session:
        ballots = list((await session.execute(select(Ballot).where(
            Ballot.state == "drawn", Ballot.day <= now.date() + timedelta(days=MAX_CUTOFF_DAYS),
            select(BallotEntry.id).where(BallotEntry.ballot_id == Ballot.id,
                                         BallotEntry.state == "waitlisted").exists()))).scalars())
        for ballot in ballots:
            office = await rt.offices.of(ballot.office_id, session)
            if ballot.day >= office.rules.first_bookable_date(now.astimezone(office.tz)):
                continue
            for entry in await lock_rows(session, BallotEntry, where=and_(
                    BallotEntry.ballot_id == ballot.id, BallotEntry.state == "waitlisted")):
                await leave_entry(session, entry, "lapsed", now)
                lapsed += 1
        await session.commit()
    return lapsed
