"""Couples enter a ballot, read their entries and withdraw.

An entry is validated as a booking is, for the ballot's date: the parties
(``prepare_parties``), then the booking's own validation step without the release
(``placement.check_couple``: the law's rules, legal age on that date, and the jurisdiction
policy in force on it) and the office's no-show ban. It is
one transaction: the Idempotency-Key first, then the ballot row locked FOR SHARE (so the
draw, which updates that row, waits for every entry in flight and sees it), the entry,
its two parties and the key's answer. The database refuses a person's second active entry
(a partial unique index) and an entry of a person who holds an active booking of the
service (the claim trigger), and so the other way round.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.appointments.problems import PartyAlreadyBooked
from booking.appointments.services.book import no_show_ban
from booking.appointments.services.changes import cancel
from booking.appointments.services.placement import Party, check_couple
from booking.ballots.problems import (
    AlreadyEntered,
    CannotWithdraw,
    EntriesClosed,
    EntriesNotOpen,
    PartyAlreadyEntered,
    PrereviewNotInBallot,
)
from booking.ballots.schemas import EntryCreate, EntryLinks, EntryOut
from booking.ballots.services import free_seats
from booking.context import Context
from booking.db.models import Ballot, BallotEntry, BallotEntryParty, booked_party_values
from booking.db.unique import flush_refusing
from booking.errors import NotFound, invalid
from booking.i18n import lazy
from booking.idempotency import IdempotencyClaim, Replayed
from booking.jurisdiction.policy import PartyHome, Period
from booking.notifications.outbox import Recipients, add_rows, messages
from booking.offices.directory import OfficeInfo
from booking.parties.schemas import PartyOut
from booking.parties.services import PreparedParty, prepare_parties
from booking.runtime import Runtime
from booking.schemas import iso, local

CREATE_SCOPE = "ballot_entry.create"


def entry_out(entry: BallotEntry, ballot: Ballot, parties: list[Any], position: int | None) -> EntryOut:
    base = f"/api/v1/ballot-entries/{entry.id}"
    return EntryOut(
        id=entry.id, ballot_id=ballot.id, office_id=ballot.office_id, service=ballot.service, date=ballot.day,
        state=entry.state,  # type: ignore[arg-type]
        appointment_id=entry.appointment_id if entry.appointment_id and entry.state == "won" else None,
        position=position if entry.state == "waitlisted" else None, rank=entry.rank, times=entry.times,
        parties=[PartyOut.of(p) for p in sorted(parties, key=lambda p: p.position)],
        created_at=local(entry.created_at),
        links=EntryLinks(self=base, ballot=f"/api/v1/ballots/{ballot.id}", withdraw=f"{base}/withdraw",
                         appointment=(f"/api/v1/appointments/{entry.appointment_id}"
                                      if entry.appointment_id is not None else None)))


async def waitlist_position(session: AsyncSession, entry: BallotEntry) -> int | None:
    """Where a waitlisted entry stands now: 1 + those still waiting ahead of it."""
    if entry.state != "waitlisted" or entry.rank is None:
        return None
    ahead = (await session.execute(select(func.count()).where(
        BallotEntry.ballot_id == entry.ballot_id, BallotEntry.state == "waitlisted",
        BallotEntry.rank < entry.rank))).scalar_one()  # type: ignore[operator]
    return int(ahead) + 1


async def out_of(session: AsyncSession, entry: BallotEntry) -> EntryOut:
    ballot = await session.get(Ballot, entry.ballot_id)
    assert ballot is not None
    parties = list((await session.execute(select(BallotEntryParty).where(
        BallotEntryParty.entry_id == entry.id))).scalars())
    return entry_out(entry, ballot, parties, await waitlist_position(session, entry))


# --- entering ----------------------------------------------------------------------------


def _check_window(ballot: Ballot, office: OfficeInfo, now: datetime) -> None:
    if ballot.state != "open" or now >= ballot.entry_closes_at:
        raise EntriesClosed(closed_at=iso(ballot.entry_closes_at, office.tz))
    if now < ballot.entry_opens_at:
        opens = iso(ballot.entry_opens_at, office.tz)
        raise EntriesNotOpen(lazy("Entries open at {opens}.", opens=opens), opens_at=opens)


async def _check_rules(session: AsyncSession, ballot: Ballot, office: OfficeInfo, parties: list[PreparedParty],
                       periods: tuple[Period, ...], now: datetime) -> None:
    """The rules of a booking on the ballot's date: the same validation step as a booking
    (without the release, which the ballot replaces), and the office's no-show ban."""
    placed = [Party(p.facts, PartyHome(p.hukou_province, p.id_type)) for p in parties]
    verdict = check_couple(office, ballot.service, ballot.day, placed, periods)
    if verdict.prereview:
        raise PrereviewNotInBallot(reason=verdict.reason)
    ban = await no_show_ban(session, office, parties, now)
    if ban is not None:
        raise ban


async def _check_times(session: AsyncSession, ballot: Ballot, office: OfficeInfo, times: list[str] | None
                       ) -> list[str] | None:
    if not times:
        return None
    seats, _slots = await free_seats(session, office, ballot.service, ballot.day)
    unknown = [t for t in times if t not in seats]
    if unknown:
        raise invalid("times", lazy("Not a start time of the day's slots; they start at {times}.",
                                    times=", ".join(seats) or "-"))
    return sorted(set(times))


# which index refused an entry: PostgreSQL names it, SQLite names its columns (the person's
# one hold is a trigger on both, named in its message)
_REFUSALS: dict[tuple[str, ...], type[Exception]] = {
    ("uq_person_active_claim",): PartyAlreadyBooked,
    ("uq_ballot_entry_party_active", "ballot_entry_party.id_hash"): PartyAlreadyEntered,
    ("uq_ballot_entry_account", "ballot_entry.ballot_id"): AlreadyEntered,
}


async def enter(rt: Runtime, principal: Principal, ballot_id: uuid.UUID, data: EntryCreate, *, key: str | None,
                locale: str) -> tuple[int, EntryOut | Replayed]:
    now = rt.clock.now()
    claim = IdempotencyClaim.of(rt, principal.id, key, CREATE_SCOPE,
                                {"ballot_id": str(ballot_id), **data.model_dump(mode="json")})
    # before the transaction: a reload of the cached periods takes a connection of its own
    periods = await rt.policy.periods()
    async with rt.db.session() as session:
        if claim is not None and (answer := await claim.take(session, now)) is not None:
            return answer
        ballot = (await session.execute(select(Ballot).where(Ballot.id == ballot_id).with_for_update(read=True)
                                        .execution_options(populate_existing=True))).scalar_one_or_none()
        if ballot is None:
            raise NotFound()
        office = await rt.offices.of(ballot.office_id, session)
        _check_window(ballot, office, now)
        parties = prepare_parties(rt.vault, data.parties, now.astimezone(office.tz).date())
        await _check_rules(session, ballot, office, parties, periods, now)
        times = await _check_times(session, ballot, office, data.times)

        entry = BallotEntry(id=uuid.uuid4(), ballot_id=ballot.id, account_id=principal.id, state="entered",
                            times=times, locale=data.locale or locale, created_at=now, updated_at=now)
        stored = [BallotEntryParty(id=p.id, entry_id=entry.id, service=ballot.service, active=True,
                                   **booked_party_values(p)) for p in parties]
        refusals = {names: problem() for names, problem in _REFUSALS.items()}
        session.add(entry)
        await flush_refusing(session, refusals)
        session.add_all(stored)
        await flush_refusing(session, refusals)
        await add_rows(session, messages("ballot.entered", "ballot_entry", entry.id, 0,
                                         Recipients(principal.id, None), entry.locale, now), now)
        body = entry_out(entry, ballot, stored, None)
        if claim is not None:
            claim.settle(201, body)
        await session.commit()
        return 201, body


# --- reading -----------------------------------------------------------------------------


async def visible_entry(session: AsyncSession, principal: Principal, entry_id: uuid.UUID, *,
                        lock: bool = False) -> BallotEntry:
    """The couple's own entry, or any entry of a clerk's office; unknown and forbidden alike 404."""
    query = select(BallotEntry).where(BallotEntry.id == entry_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    entry = (await session.execute(query)).scalar_one_or_none()
    if entry is None:
        raise NotFound()
    if principal.is_couple:
        if entry.account_id != principal.id:
            raise NotFound()
    else:
        ballot = await session.get(Ballot, entry.ballot_id)
        if ballot is None or not principal.manages_office(ballot.office_id):
            raise NotFound()
    return entry


async def list_own(ctx: Context, *, limit: int, offset: int) -> tuple[list[EntryOut], int]:
    session, principal = ctx.session, ctx.caller
    query = select(BallotEntry).where(BallotEntry.account_id == principal.id)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    entries = (await session.execute(query.order_by(BallotEntry.created_at.desc())  # type: ignore[attr-defined]
                                     .limit(limit).offset(offset))).scalars().all()
    return [await out_of(session, e) for e in entries], total


async def list_for_office(ctx: Context, ballot_id: uuid.UUID, state: str | None, *, limit: int,
                          offset: int) -> tuple[list[EntryOut], int]:
    """A ballot's entries for the clerks of its office (masked parties), in draw order once
    drawn, else in order of arrival."""
    session, principal = ctx.session, ctx.caller
    ballot = await session.get(Ballot, ballot_id)
    if ballot is None or not principal.manages_office(ballot.office_id):
        raise NotFound()
    query = select(BallotEntry).where(BallotEntry.ballot_id == ballot_id)
    if state is not None:
        query = query.where(BallotEntry.state == state)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    entries = list((await session.execute(query.order_by(
        BallotEntry.rank.nulls_last(), BallotEntry.created_at)  # type: ignore[union-attr]
        .limit(limit).offset(offset))).scalars())
    parties: dict[uuid.UUID, list[BallotEntryParty]] = {}
    if entries:
        for party in (await session.execute(select(BallotEntryParty).where(
                BallotEntryParty.entry_id.in_([e.id for e in entries])))).scalars():  # type: ignore[attr-defined]
            parties.setdefault(party.entry_id, []).append(party)
    ranks = [e.rank for e in entries if e.state == "waitlisted" and e.rank is not None]
    ahead = await _waiting_before(session, ballot_id, min(ranks)) if ranks else 0
    bodies, waiting = [], ahead
    for e in entries:  # the page is in draw order: positions count up through it
        if e.state == "waitlisted":
            waiting += 1
        bodies.append(entry_out(e, ballot, parties.get(e.id, []), waiting if e.state == "waitlisted" else None))
    return bodies, total


async def _waiting_before(session: AsyncSession, ballot_id: uuid.UUID, rank: int) -> int:
    return int((await session.execute(select(func.count()).where(
        BallotEntry.ballot_id == ballot_id, BallotEntry.state == "waitlisted",
        BallotEntry.rank < rank))).scalar_one())  # type: ignore[operator]


# --- withdrawing -------------------------------------------------------------------------


async def withdraw(ctx: Context, entry_id: uuid.UUID) -> EntryOut:
    """Withdraw an entry: before the draw, or from the waitlist after it. A winner withdraws
    by cancelling the appointment it won (the appointment's own cancellation, which gives
    the seat to the first entry waiting for it, in the same transaction)."""
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    now = rt.clock.now()
    entry = await visible_entry(session, principal, entry_id)
    if entry.state == "won" and entry.appointment_id is not None:
        await cancel(ctx, entry.appointment_id)
        return await out_of(session, await visible_entry(session, principal, entry_id))
    # the ballot row first (FOR SHARE, as entering), then the entry: the draw cannot run in between
    ballot = (await session.execute(select(Ballot).where(Ballot.id == entry.ballot_id).with_for_update(read=True)
                                    .execution_options(populate_existing=True))).scalar_one()
    entry = await visible_entry(session, principal, entry_id, lock=True)
    if entry.state not in ("entered", "waitlisted") or (entry.state == "entered" and ballot.state != "open"):
        raise CannotWithdraw()
    await leave_entry(session, entry, "withdrawn", now)
    await session.commit()
    return await out_of(session, entry)


async def leave_entry(session: AsyncSession, entry: BallotEntry, state: str, now: datetime) -> None:
    entry.state = state
    entry.updated_at = now
    await session.execute(update(BallotEntryParty).where(BallotEntryParty.entry_id == entry.id).values(active=False))

