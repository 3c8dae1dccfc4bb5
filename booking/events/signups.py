"""Couples sign up for events, read and cancel their sign-ups.

A sign-up is one transaction: the Idempotency-Key is claimed first (``booking.idempotency``:
a retry gets the first answer, a concurrent duplicate waits on the key), then the request
is validated completely (parties as for appointments, the sign-up window, guests, the
kind's eligibility), then written: the place or the waitlist ticket (``capacity.claim``,
under the event row lock), the sign-up, its two parties (whose partial unique index refuses
a person's second active sign-up for the event), the outbox rows and the key's answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.appointments.queries import account_email
from booking.context import Context
from booking.db.locking import lock_rows
from booking.db.models import (
    HOLDING_STATUSES,
    Appointment,
    AppointmentParty,
    Event,
    Office,
    Signup,
    SignupParty,
    booked_party_values,
)
from booking.db.unique import flush_or
from booking.errors import Conflict, InvalidInput, NotFound, Problem, field_error
from booking.events import capacity, eligibility, store
from booking.events.invites import signup_calendar
from booking.events.messages import announce, cancel_reminders, notice_rows, reminder_rows
from booking.events.schemas import (
    ContactOut,
    PledgeOut,
    SignupCreate,
    SignupLinks,
    SignupOut,
    SponsorOut,
)
from booking.events.services import EventCancelled
from booking.events.store import SignupDraft, write_signup
from booking.i18n import lazy
from booking.idempotency import IdempotencyClaim, Replayed
from booking.kernel import access
from booking.kernel.access import may_see
from booking.kernel.audit import record
from booking.kernel.codes import new_code
from booking.notifications.outbox import add_rows
from booking.offices.directory import OfficeInfo
from booking.parties.rules import check_reissue
from booking.parties.schemas import PartyOut
from booking.parties.services import PreparedParty, prepare_parties
from booking.runtime import Runtime
from booking.schemas import iso, local
from booking.security.pii import mask_phone

CREATE_SCOPE = "signup.create"
STANDING = ("pending_approval", "confirmed", "waitlisted")  # a couple may still cancel these


class SignupsNotOpen(Conflict):
    code = "signups-not-open"
    title = lazy("Sign-ups for this event are not open yet.")


class SignupsClosed(Conflict):
    code = "signups-closed"
    title = lazy("Sign-ups for this event have closed.")


class AlreadySignedUp(Conflict):
    code = "already-signed-up"
    title = lazy("A party is already signed up for this event.")


class InvalidSignupStatus(Conflict):
    code = "invalid-status"
    title = lazy("The sign-up is not in a state that allows this.")


class EventStarted(Conflict):
    code = "event-started"
    title = lazy("The event has already started.")


class SignupWaitlisted(Conflict):
    code = "signup-waitlisted"
    title = lazy("The sign-up is on the waitlist; its invite comes with a place.")


# --- the JSON shape of a sign-up -------------------------------------------------------


def yuan(fen: int | None) -> str | None:
    return None if fen is None else f"{Decimal(fen) / 100:.2f}"


def signup_out(signup: Any, event_sequence: int, parties: list[Any], position: int | None) -> SignupOut:
    """A sign-up's answer; ID numbers and phones masked."""
    base = f"/api/v1/signups/{signup.id}"
    return SignupOut(
        id=signup.id, event_id=signup.event_id, office_id=signup.office_id, code=signup.code, status=signup.status,
        waitlist_position=position if signup.status == "waitlisted" else None,
        arrival_no=signup.arrival_no, guests=signup.guests, marriage_date=signup.marriage_date,
        eligible_by=signup.eligible_by,
        parties=[PartyOut.of(p) for p in sorted(parties, key=lambda p: p.position)],
        contact=(ContactOut(name=signup.contact_name, phone=signup.contact_phone_masked)
                 if signup.contact_name else None),
        pledge=(PledgeOut(amount=Decimal(yuan(signup.pledge_amount_fen)), cause=signup.pledge_cause)
                if signup.pledge_amount_fen else None),
        sponsor=SponsorOut(name=signup.sponsor_name) if signup.sponsor_name else None,
        decision_reason=signup.decision_reason, sequence=event_sequence + signup.sequence,
        created_at=local(signup.created_at),
        links=SignupLinks(self=base, event=f"/api/v1/events/{signup.event_id}", invite=f"{base}/invite.ics",
                          cancel=f"{base}/cancel"))


async def signup_parties(session: AsyncSession, signup_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[SignupParty]]:
    found: dict[uuid.UUID, list[SignupParty]] = {}
    if signup_ids:
        rows = await session.execute(select(SignupParty).where(
            SignupParty.signup_id.in_(signup_ids)).order_by(SignupParty.position))  # type: ignore[attr-defined]
        for party in rows.scalars():
            found.setdefault(party.signup_id, []).append(party)
    return found


async def outs_of(session: AsyncSession, signups: list[Signup],
                  event: Event | None = None) -> list[SignupOut]:
    """The answers of these sign-ups, reading their events, parties and waitlist positions in
    one query each, however many there are (``event``: theirs, when they share one)."""
    if not signups:
        return []
    events = {event.id: event} if event is not None else {}
    missing = {s.event_id for s in signups} - set(events)
    if missing:
        events.update({e.id: e for e in (await session.execute(
            select(Event).where(Event.id.in_(missing)))).scalars()})  # type: ignore[attr-defined]
    parties = await signup_parties(session, [s.id for s in signups])
    positions = await capacity.waitlist_positions(session, signups)
    return [signup_out(s, events[s.event_id].sequence, parties.get(s.id, []), positions.get(s.id))
            for s in signups]


async def out_of(session: AsyncSession, signup: Signup, event: Event | None = None) -> SignupOut:
    return (await outs_of(session, [signup], event))[0]


# --- signing up ------------------------------------------------------------------------


class _CodeTaken(Exception):
    """The random check-in code collided; draw another."""


async def sign_up(rt: Runtime, principal: Principal, event_id: uuid.UUID, data: SignupCreate, *, key: str | None,
                  locale: str) -> tuple[int, SignupOut | Replayed]:
    """Sign a couple up; returns (status code, body) with status ``confirmed``,
    ``pending_approval`` or ``waitlisted`` (and the position). With an Idempotency-Key, a
    retry with the same body gets the first answer, even once the event has filled up or
    closed, and signs nobody up twice."""
    now = rt.clock.now()
    claim = IdempotencyClaim.of(rt, principal.id, key, CREATE_SCOPE,
                                {"event_id": str(event_id), **data.model_dump(mode="json")})
    if rt.db.is_postgres:
        try:
            return await _sign_up_in_one_statement(rt, principal, event_id, data, claim, locale, now)
        except Problem:
            # A retry of a request that succeeded gets the first answer, even if the event
            # has filled up or closed since (as a booking's).
            if claim is not None and (answer := await claim.stored_answer(rt.db)) is not None:
                return answer
            raise
    for _attempt in range(5):
        try:
            return await _write(rt, principal, event_id, data, claim, locale, now)
        except _CodeTaken:
            continue
    raise RuntimeError("could not draw a free check-in code")  # pragma: no cover - 31**8 codes


def _check_request(event: Event, data: SignupCreate, now: datetime) -> None:
    tz = ZoneInfo(event.timezone)
    if event.status == "cancelled":
        raise EventCancelled()
    if now < event.signup_opens_at:
        raise SignupsNotOpen(lazy("Sign-ups open at {opens}.", opens=iso(event.signup_opens_at, tz)),
                             opens_at=iso(event.signup_opens_at, tz))
    if now >= event.signup_closes_at:
        raise SignupsClosed(closed_at=iso(event.signup_closes_at, tz))
    most = min(event.guests_per_couple, event.guest_seats)
    errors = []
    if data.guests > most:
        errors.append(field_error("guests", lazy("At most {guests} guests per couple.", guests=most)))
    if event.kind != "charity":
        for name in ("pledge", "sponsor"):
            if getattr(data, name) is not None:
                errors.append(field_error(name, lazy("Only charity weddings take pledges and sponsors.")))
    elif data.pledge is not None and data.sponsor is not None:
        errors.append(field_error("sponsor", lazy("Give either a pledge or a sponsor, not both.")))
    if errors:
        raise InvalidInput(errors=errors)


async def couple_record(session: AsyncSession, id_hashes: list[str]) -> tuple[date | None, datetime | None]:
    """What this service knows of the couple: the date it registered their marriage (a
    completed registration of both), and the start of their booked one, if any."""
    return _record_of((await session.execute(
        select(Appointment.status, Appointment.starts_at, Office.timezone)
        .join(AppointmentParty, AppointmentParty.appointment_id == Appointment.id)
        .join(Office, Office.id == Appointment.office_id)
        .where(AppointmentParty.id_hash.in_(id_hashes), Appointment.service == "marriage_registration",  # type: ignore[attr-defined]
               Appointment.status.in_(("pending_review", "confirmed", "checked_in", "completed")))  # type: ignore[attr-defined]
        .group_by(Appointment.id, Appointment.status, Appointment.starts_at, Office.timezone)
        .having(func.count(func.distinct(AppointmentParty.id_hash)) == 2))).all())


def _record_of(rows: Any) -> tuple[date | None, datetime | None]:
    """(date registered, start of the booked registration) from (status, start, timezone) rows."""
    registered = [at.astimezone(ZoneInfo(tz)).date() for status, at, tz in rows if status == "completed"]
    booked = [at for status, at, _tz in rows if status != "completed"]
    return (max(registered) if registered else None), (min(booked) if booked else None)


@dataclass(slots=True)
class _Checked:
    """A request that passed every check, ready to be written."""

    event: Event
    office: OfficeInfo
    parties: list[PreparedParty]
    verdict: eligibility.Verdict
    contact: tuple[str, str, str, str] | None  # name, phone encrypted, its hash, masked


class _Reads(Protocol):
    """Where the checks read: an ORM session (SQLite, in the write's transaction) or the hot
    connection (PostgreSQL, before the one-statement write)."""

    async def event(self, event_id: uuid.UUID) -> Event | None: ...

    async def couple_record(self, id_hashes: list[str]) -> tuple[date | None, datetime | None]: ...

    async def office(self, office_id: int) -> OfficeInfo: ...


@dataclass(slots=True)
class _SessionReads:
    rt: Runtime
    session: AsyncSession

    async def event(self, event_id: uuid.UUID) -> Event | None:
        return await self.session.get(Event, event_id)

    async def couple_record(self, id_hashes: list[str]) -> tuple[date | None, datetime | None]:
        return await couple_record(self.session, id_hashes)

    async def office(self, office_id: int) -> OfficeInfo:
        return await self.rt.offices.of(office_id, self.session)


@dataclass(slots=True)
class _HotReads:
    """Each read takes a hot connection for itself: none is held across the parties'
    encryption or an office loaded into its cache."""

    rt: Runtime

    async def event(self, event_id: uuid.UUID) -> Event | None:
        async with self.rt.db.raw() as conn:
            return await store.read_event(conn, event_id)

    async def couple_record(self, id_hashes: list[str]) -> tuple[date | None, datetime | None]:
        async with self.rt.db.raw() as conn:
            return _record_of(await store.couple_registrations(conn, id_hashes))

    async def office(self, office_id: int) -> OfficeInfo:
        return await self.rt.offices.of(office_id)


async def _check(rt: Runtime, reads: _Reads, event_id: uuid.UUID, data: SignupCreate,
                 now: datetime) -> _Checked:
    """Everything a sign-up is checked against before its write (reads only)."""
    event = await reads.event(event_id)
    if event is None:
        raise NotFound()
    today = now.astimezone(ZoneInfo(event.timezone)).date()  # the venue's day, as every date of the event
    parties = prepare_parties(rt.vault, data.parties, today)
    refusals = check_reissue([p.facts for p in parties], today)  # two different people, a man and a woman
    if refusals:
        raise InvalidInput(errors=[field_error(r.field, r.message) for r in refusals])
    _check_request(event, data, now)
    registered_on, appointment_at = await reads.couple_record([p.id_hash for p in parties])
    verdict = eligibility.check(
        event.kind, event.eligibility or {}, eligibility.CoupleFacts(
            birth_dates=(parties[0].birth_date, parties[1].birth_date), marriage_date=data.marriage_date,
            registered_on=registered_on, appointment_at=appointment_at,
            has_pledge_or_sponsor=data.pledge is not None or data.sponsor is not None),
        event.starts_on, event.starts_at, today)
    verdict.raise_if_refused()
    office = await reads.office(event.office_id)
    contact = None
    if data.contact is not None:
        contact = (data.contact.name, rt.vault.encrypt(data.contact.phone, context="party.phone"),
                   rt.vault.lookup_hash(data.contact.phone, kind="phone"), mask_phone(data.contact.phone))
    return _Checked(event, office, parties, verdict, contact)


async def _sign_up_in_one_statement(rt: Runtime, principal: Principal, event_id: uuid.UUID, data: SignupCreate,
                                    claim: IdempotencyClaim | None, locale: str,
                                    now: datetime) -> tuple[int, SignupOut | Replayed]:
    """PostgreSQL: the checks' reads, then the write in one statement (``events/store.py``),
    which holds the event row only for itself."""
    # the checks read on the hot connections (the event, the couple's record): no ORM session
    checked = await _check(rt, _HotReads(rt), event_id, data, now)
    event, contact = checked.event, checked.contact
    signup = SimpleNamespace(
        id=uuid.uuid4(), event_id=event_id, office_id=event.office_id, code=new_code(), account_id=principal.id,
        status="confirmed", arrival_no=0, guests=data.guests, marriage_date=checked.verdict.marriage_date,
        eligible_by=checked.verdict.eligible_by,
        pledge_amount_fen=int(data.pledge.amount * 100) if data.pledge else None,
        pledge_cause=data.pledge.cause if data.pledge else None,
        sponsor_name=data.sponsor.name if data.sponsor else None,
        contact_name=contact[0] if contact else None, contact_phone_masked=contact[3] if contact else None,
        locale=data.locale or locale, sequence=0, decision_reason=None, created_at=now)
    outbox = {
        "confirmed": (notice_rows("signup.confirmed", signup, event, now)
                      + reminder_rows(signup, event, checked.office.rules, now)),
        "pending_approval": notice_rows("signup.received", signup, event, now),
        # its payload gets the position the write decides
        "waitlisted": notice_rows("signup.waitlisted", signup, event, now),
    }
    out = signup_out(signup, event.sequence, checked.parties, None)
    draft = SignupDraft(
        signup_id=signup.id, event_id=event_id, office_id=event.office_id, code=signup.code,
        account_id=principal.id, guests=data.guests, marriage_date=signup.marriage_date,
        eligible_by=signup.eligible_by, pledge_amount_fen=signup.pledge_amount_fen,
        pledge_cause=signup.pledge_cause, sponsor_name=signup.sponsor_name, contact=contact,
        locale=signup.locale, parties=checked.parties, outbox=outbox,
        response=msgspec.to_builtins(out), now=now, claim=claim)
    for _attempt in range(5):
        try:
            written = await write_signup(rt.db, draft)
        except store.CodeTaken:
            draft.code = signup.code = new_code()
            out = signup_out(signup, event.sequence, checked.parties, None)
            draft.response = msgspec.to_builtins(out)
            continue
        except store.KeyTaken:
            answer = await claim.stored_answer(rt.db) if claim is not None else None
            if answer is None:  # the other request rolled back after all: try again
                continue
            return answer
        except store.EventGone:
            raise EventCancelled() from None
        except store.PartyTaken:
            async with rt.db.session() as session:
                raise AlreadySignedUp(party=await _holder(session, event_id, checked.parties)) from None
        # the answer as the statement decided it (a replay reads the same from the key's row)
        return 201, msgspec.structs.replace(out, status=written.status, arrival_no=written.arrival_no,
                                            waitlist_position=written.waitlist_position)
    raise RuntimeError("could not draw a free check-in code")  # pragma: no cover - 31**8 codes


async def _write(rt: Runtime, principal: Principal, event_id: uuid.UUID, data: SignupCreate,
                 claim: IdempotencyClaim | None, locale: str, now: datetime) -> tuple[int, SignupOut | Replayed]:
    """The portable write (SQLite): the same steps through the ORM in one transaction."""
    async with rt.db.session() as session:
        # The key first: a retry gets the first answer whatever changed since, and a
        # concurrent duplicate waits on the key until this transaction ends.
        if claim is not None and (answer := await claim.take(session, now)) is not None:
            return answer
        checked = await _check(rt, _SessionReads(rt, session), event_id, data, now)
        event, parties, verdict, contact = checked.event, checked.parties, checked.verdict, checked.contact

        # --- the write: everything below commits together or not at all ---
        place = await capacity.claim(session, event_id, data.guests)
        if place is None:
            await session.rollback()
            raise EventCancelled()
        status = ("waitlisted" if not place.placed
                  else "pending_approval" if place.requires_approval else "confirmed")
        signup = Signup(
            id=uuid.uuid4(), event_id=event_id, office_id=event.office_id, code=new_code(), account_id=principal.id,
            status=status, arrival_no=place.arrival_no, guests=data.guests,
            marriage_date=verdict.marriage_date, eligible_by=verdict.eligible_by,
            pledge_amount_fen=int(data.pledge.amount * 100) if data.pledge else None,
            pledge_cause=data.pledge.cause if data.pledge else None,
            sponsor_name=data.sponsor.name if data.sponsor else None,
            contact_name=contact[0] if contact else None, contact_phone_enc=contact[1] if contact else None,
            contact_phone_hash=contact[2] if contact else None, contact_phone_masked=contact[3] if contact else None,
            locale=data.locale or locale, sequence=0, created_at=now, updated_at=now)
        session.add(signup)
        await flush_or(session, _CodeTaken())
        stored = [SignupParty(id=p.id, signup_id=signup.id, event_id=event_id, active=True, **booked_party_values(p))
                  for p in parties]
        session.add_all(stored)
        try:
            await session.flush()
        except IntegrityError:
            await session.rollback()
            raise AlreadySignedUp(party=await _holder(session, event_id, parties)) from None
        if status == "confirmed":
            rows = (notice_rows("signup.confirmed", signup, event, now)
                    + reminder_rows(signup, event, checked.office.rules, now))
        elif status == "pending_approval":
            rows = notice_rows("signup.received", signup, event, now)
        else:
            rows = notice_rows("signup.waitlisted", signup, event, now, {"position": place.waitlist_position})
        await add_rows(session, rows, now)
        body = signup_out(signup, event.sequence, stored, place.waitlist_position)
        if claim is not None:
            claim.settle(201, body)
        await session.commit()
        return 201, body


async def _holder(session: AsyncSession, event_id: uuid.UUID, parties: list[PreparedParty]) -> int | None:
    """Which party (1 or 2) is already in an active sign-up of the event."""
    taken = set((await session.execute(select(SignupParty.id_hash).where(
        SignupParty.event_id == event_id, SignupParty.active.is_(True),  # type: ignore[attr-defined]
        SignupParty.id_hash.in_([p.id_hash for p in parties])))).scalars())  # type: ignore[attr-defined]
    return next((p.position for p in parties if p.id_hash in taken), None)


# --- reading ---------------------------------------------------------------------------


async def visible_signup(session: AsyncSession, principal: Principal, signup_id: uuid.UUID) -> Signup:
    signup = await session.get(Signup, signup_id)
    if signup is None or not may_see(principal, signup):
        raise NotFound()
    return signup


async def get_signup(ctx: Context, signup_id: uuid.UUID) -> SignupOut:
    return await out_of(ctx.session, await visible_signup(ctx.session, ctx.caller, signup_id))


async def list_own(ctx: Context, *, limit: int, offset: int) -> tuple[list[SignupOut], int]:
    session, principal = ctx.session, ctx.caller
    query = select(Signup).where(Signup.account_id == principal.id)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    signups = list((await session.execute(
        query.order_by(Signup.created_at.desc()).limit(limit).offset(offset))).scalars())  # type: ignore[attr-defined]
    return await outs_of(session, signups), total


async def invite_file(ctx: Context, signup_id: uuid.UUID) -> tuple[bytes, str, str]:
    """The sign-up's invite: (iCalendar file, METHOD, file name). Only the couple's own copy
    names them as attendee (with their e-mail address); the organisers' copy is PUBLISH,
    without attendees."""
    rt, session, principal, locale = ctx.rt, ctx.session, ctx.caller, ctx.locale
    signup = await visible_signup(session, principal, signup_id)
    event = await session.get(Event, signup.event_id)
    if event is None:
        raise NotFound()
    if signup.status == "waitlisted" and event.status != "cancelled":
        raise SignupWaitlisted()
    office = await rt.offices.of(event.office_id, session)
    attendee = None
    if principal.is_couple:  # visible_signup: their own
        email, name = await account_email(session, signup.account_id)
        attendee = (email, name) if email else None
    body, method = signup_calendar(signup, event, office, rt.settings, locale, attendee, rt.clock.now())
    return body, method, f"signup-{signup.code}.ics"


# --- cancelling --------------------------------------------------------------------------


async def refuse(session: AsyncSession, actor: Principal, action: str, signup: Signup, problem: Conflict) -> None:
    """Refused organiser actions are audited too (in their own transaction), then raised."""
    await access.refuse(session, actor, action, signup, problem, target_type="signup")


async def lock_signup(session: AsyncSession, signup: Signup) -> tuple[Event, Signup]:
    """The event row, then the sign-up row, locked in that order (see ``capacity``)."""
    event = await capacity.lock_event(session, signup.event_id)
    assert event is not None
    (locked,) = await lock_rows(session, Signup, [signup.id])
    return event, locked


async def deactivate_parties(session: AsyncSession, signup_id: uuid.UUID) -> None:
    await session.execute(update(SignupParty).where(SignupParty.signup_id == signup_id).values(active=False))


async def leave(rt: Runtime, session: AsyncSession, event: Event, signup: Signup, status: str, now: datetime,
                notice: str, payload: dict[str, Any]) -> int:
    """A sign-up leaves (cancelled or rejected): its place or ticket goes back, its
    reminders are cancelled, it is told, and the waitlist is promoted in the same
    transaction. Returns how many were promoted.

    Promotion runs whoever leaves: a couple holding a place frees it, and a waitlisted
    couple at the head of the queue (waiting because their guests do not fit) may have
    been all that kept the next, fitting couple from a free place."""
    previous = signup.status
    signup.status = status
    signup.sequence += 1
    signup.updated_at = now
    await deactivate_parties(session, signup.id)
    await session.flush()
    await capacity.release(session, event.id, previous, signup.guests)
    office = await rt.offices.of(event.office_id, session)
    await cancel_reminders(session, [signup.id])
    # "held": whether the couple ever had an invite to cancel (a waitlisted one had none)
    await add_rows(session, notice_rows(notice, signup, event, now, {**payload, "held": previous in HOLDING_STATUSES}),
                   now)
    promoted = await capacity.promote(session, event.id, now)
    await announce(session, "signup.promoted", [p.signup_id for p in promoted], event, office.rules, now)
    return len(promoted)


async def cancel(ctx: Context, signup_id: uuid.UUID,
                 reason: str | None = None) -> SignupOut:
    """Cancel before the event starts (the couple, or the organiser)."""
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    now = rt.clock.now()
    event, signup = await lock_signup(session, await visible_signup(session, principal, signup_id))
    by_office = not principal.is_couple
    if signup.status not in STANDING:
        await refuse(session, principal, "signup.cancel", signup, InvalidSignupStatus())
    if now >= event.starts_at:
        await refuse(session, principal, "signup.cancel", signup, EventStarted())
    signup.cancelled_by = "office" if by_office else "couple"
    signup.cancelled_at = now
    promoted = await leave(rt, session, event, signup, "cancelled", now, "signup.cancelled",
                           {"by": signup.cancelled_by})
    if by_office:
        record(session, principal, "signup.cancel", target_type="signup", target_id=signup.id,
               office_id=signup.office_id, at=now, reason_given=bool(reason), promoted=promoted)
    await session.commit()
    return await out_of(session, signup, event)


__all__ = ["CREATE_SCOPE", "AlreadySignedUp", "cancel", "get_signup", "invite_file", "list_own", "sign_up",
           "signup_out"]
