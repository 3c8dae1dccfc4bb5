"""Setting a ballot up (clerks) and reading it (anyone): the public body publishes what
checking the draw needs once it has run."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.ballots import order
from booking.ballots.problems import BallotExists, NoSlotsForBallot
from booking.ballots.schemas import BallotCreate, BallotOut, SeatsAt
from booking.context import Context
from booking.db.locking import lock_rows
from booking.db.models import Ballot, BallotEntry, Slot
from booking.db.unique import flush_or
from booking.errors import InvalidInput, NotFound, field_error, invalid
from booking.i18n import lazy
from booking.kernel.audit import record
from booking.kernel.ttl import MISSING
from booking.offices.directory import OfficeInfo
from booking.peakdays.services import is_peak_day
from booking.runtime import Runtime
from booking.schemas import iso, local

SEED_CONTEXT = "ballot.seed"

VERIFICATION = lazy(
    "Check the draw with the published seed, entry_ids, seats and entry_times: (1) sha256(seed bytes) in hex "
    "equals seed_commitment, published before entries opened; (2) each entry's key is HMAC-SHA256 with the "
    "seed bytes as key and the entry id (lowercase, hyphenated, ASCII) as message, in hex; (3) the draw order "
    "is the entries sorted by key, ascending; (4) walking that order, each entry takes one seat at the earliest "
    "start time that has a seat left among the times it named (any time if it named none), and an entry that "
    "finds none waits. The entries that took a seat are the winners, in draw order; all others wait in draw "
    "order.")


def local_time(at: datetime, office: OfficeInfo) -> str:
    return at.astimezone(office.tz).strftime("%H:%M")


async def free_seats(session: AsyncSession, office: OfficeInfo, service: str, day: date, *,
                     lock: bool = False) -> tuple[dict[str, int], list[Slot]]:
    """The day's open slots of the service and their free seats per local start time;
    ``lock`` takes their row locks in id order (the order every seat change uses)."""
    where = and_(Slot.office_id == office.id, Slot.service == service, Slot.local_date == day, Slot.status == "open")
    if lock:
        slots = await lock_rows(session, Slot, where=where)
    else:
        slots = list((await session.execute(select(Slot).where(where))).scalars())
    seats = {local_time(s.starts_at, office): s.capacity - s.booked for s in sorted(slots, key=lambda s: s.starts_at)}
    return seats, slots


def phase(ballot: Ballot, now: datetime) -> str:
    if ballot.state == "drawn":
        return "drawn"
    if now < ballot.entry_opens_at:
        return "scheduled"
    return "open" if now < ballot.entry_closes_at else "closed"


async def ballot_out(session: AsyncSession, ballot: Ballot, office: OfficeInfo, now: datetime,
                     locale: str) -> BallotOut:
    tz = office.tz
    common = {
        "id": ballot.id, "office_id": ballot.office_id, "service": ballot.service, "date": ballot.day,
        "state": phase(ballot, now), "entry_opens_at": local(ballot.entry_opens_at, tz),
        "entry_closes_at": local(ballot.entry_closes_at, tz), "draw_at": local(ballot.draw_at, tz),
        "seed_commitment": ballot.seed_commitment, "verification": VERIFICATION.render(locale),
    }
    if ballot.state != "drawn":
        seats, _slots = await free_seats(session, office, ballot.service, ballot.day)
        count = (await session.execute(select(func.count()).where(
            BallotEntry.ballot_id == ballot.id, BallotEntry.state != "withdrawn"))).scalar_one()
        return BallotOut(**common, capacity=sum(seats.values()), entry_count=count)
    drawn = (await session.execute(
        select(BallotEntry.id, BallotEntry.rank, BallotEntry.draw_result, BallotEntry.times)
        .where(BallotEntry.ballot_id == ballot.id, BallotEntry.rank.is_not(None))  # type: ignore[union-attr]
        .order_by(BallotEntry.rank))).all()
    return BallotOut(
        **common, capacity=ballot.capacity or 0, entry_count=len(drawn), seed=ballot.seed,
        drawn_at=local(ballot.drawn_at, tz) if ballot.drawn_at else None,
        entry_ids=sorted((e.id for e in drawn), key=str),
        winners=[e.id for e in drawn if e.draw_result == "won"],
        seats=[SeatsAt(time=t, seats=n) for t, n in sorted((ballot.seats or {}).items())],
        entry_times={str(e.id): e.times for e in drawn if e.times})


async def create_ballot(ctx: Context, office_id: int, data: BallotCreate) -> BallotOut:
    """Set a ballot up for a peak day of the clerk's office. The seed is drawn now and only
    its commitment is published, before the entry window opens; the draw comes before the
    day's normal release, so nobody can book the day's seats first."""
    rt, session, principal, locale = ctx.rt, ctx.session, ctx.caller, ctx.locale
    principal.require_office(office_id)
    now = rt.clock.now()
    office = await rt.offices.of(office_id, session)
    errors = []
    if data.service not in office.services:
        errors.append(field_error("service", lazy("The office does not offer this service.")))
    if not await is_peak_day(session, office_id, data.date):
        errors.append(field_error("date", lazy("Not a peak day: add it to the office's own peak days first.")))
    if data.entry_opens_at <= now:
        errors.append(field_error("entry_opens_at", lazy(
            "Must be in the future: the seed's commitment is published before entries open.")))
    release = office.rules.release_moment(data.date, office.tz)
    if data.draw_at >= release:
        errors.append(field_error("draw_at", lazy("Must be before the day's normal release at {release}.",
                                                  release=iso(release, office.tz))))
    if errors:
        raise InvalidInput(errors=errors)
    seats, _slots = await free_seats(session, office, data.service, data.date)
    if sum(seats.values()) <= 0:
        raise NoSlotsForBallot()
    seed = order.new_seed()
    ballot = Ballot(id=uuid.uuid4(), office_id=office_id, service=data.service, day=data.date,
                    entry_opens_at=data.entry_opens_at, entry_closes_at=data.entry_closes_at, draw_at=data.draw_at,
                    state="open", seed_enc=rt.vault.encrypt(seed.hex(), context=SEED_CONTEXT),
                    seed_commitment=order.commitment(seed), created_by=principal.id, created_at=now)
    session.add(ballot)
    await flush_or(session, BallotExists())
    record(session, principal, "ballot.create", target_type="ballot", target_id=ballot.id, office_id=office_id,
           at=now, date=data.date.isoformat(), service=data.service)
    await session.commit()
    return await ballot_out(session, ballot, office, now, locale)


async def get_ballot(ctx: Context, ballot_id: uuid.UUID) -> BallotOut:
    rt, session, locale = ctx.rt, ctx.session, ctx.locale
    ballot = await session.get(Ballot, ballot_id)
    if ballot is None:
        raise NotFound()
    office = await rt.offices.of(ballot.office_id, session)
    return await ballot_out(session, ballot, office, rt.clock.now(), locale)


async def list_ballots(ctx: Context, office_id: int, start: date | None,
                       end: date | None) -> list[BallotOut]:
    """An office's ballots (public), upcoming ones by default."""
    rt, session, locale = ctx.rt, ctx.session, ctx.locale
    office = await rt.offices.get(office_id, session)
    if office is None:
        raise NotFound()
    now = rt.clock.now()
    start = start or now.astimezone(office.tz).date()
    if end is not None and end < start:
        raise invalid("to", lazy("The end date must not be before the start date."))
    query = select(Ballot).where(Ballot.office_id == office_id, Ballot.day >= start)
    if end is not None:
        query = query.where(Ballot.day <= end)
    ballots = (await session.execute(query.order_by(Ballot.day, Ballot.service).limit(100))).scalars().all()
    return [await ballot_out(session, b, office, now, locale) for b in ballots]


async def upcoming(rt: Runtime, office: OfficeInfo) -> list[dict[str, Any]]:
    """The office's ballots from today on, briefly cached per process: the office page shows
    them at the release rush, and must not add a query per visitor."""
    hit = rt.upcoming_ballots.get(office.id)
    if hit is not MISSING:
        return hit  # type: ignore[return-value]
    now = rt.clock.now()
    async with rt.db.session() as session:
        rows = (await session.execute(select(Ballot).where(
            Ballot.office_id == office.id, Ballot.day >= now.astimezone(office.tz).date())
            .order_by(Ballot.day, Ballot.service).limit(10))).scalars().all()
    found = [{"id": str(b.id), "date": b.day, "service": b.service, "state": phase(b, now),
              "entry_opens_at": b.entry_opens_at, "entry_closes_at": b.entry_closes_at, "draw_at": b.draw_at}
             for b in rows]
    return rt.upcoming_ballots.put(office.id, found)

