"""Every status change of an appointment, in one place (DESIGN.md section 11).

A transition names who may make it and from which statuses; ``apply`` does everything
that goes with it, for one appointment or a batch, in the caller's transaction:

- leaving the active statuses (pending review, confirmed, checked in) gives the seat back
  (``slot.booked``) and frees the parties' one active booking per service;
- leaving ``confirmed`` cancels the pending reminders; arriving there (an approval)
  writes them;
- leaving ``pending_review`` settles the cross-province application that held the seat
  (approved, rejected, withdrawn, expired: ``hold.py``);
- what the couple's calendar must see raises SEQUENCE; the couple is told (outbox), each
  party by their own account where they have one (``reminders.audiences``);
- a clerk's or the system's change is audited;
- what hangs on appointments of a service follows them (a divorce case its visits): the
  area registers a follower (``register_follower``), called in the same transaction.

A divorce visit booked by one party waits for the other's confirmation
(``awaiting_party``), holding its seat like a held application (``booking.divorce``).

Locks follow ``booking.db.locking``: the slot before the appointment (``lock_for_change``),
so a closure, which locks its day's slots and then what stands on them, and a change of one
appointment never wait on each other in a circle.

Reschedule moves the seat, not the status: ``changes.reschedule``, with ``move_seat`` here.

Two more ways in and out are here so that this stays the one owner of status changes:
``allot`` creates confirmed appointments for couples another area has validated and chosen
(a peak day's ballot: its winners, then whoever it promotes), with the usual notices; and
every change that gives a seat back (``apply``, ``move_seat``) tells the listeners of
``on_seat_freed`` in the same transaction, so that a waiting couple (the ballot's
waitlist) gets the seat before anyone else can take it.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, case, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import SYSTEM, Principal
from booking.appointments.problems import InvalidTransition
from booking.appointments.queries import parties_of_many
from booking.appointments.services import hold
from booking.appointments.services.reminders import REMINDER, audiences, first_reminder
from booking.appointments.store import ballot_pending
from booking.db.locking import Busy, lock_rows
from booking.db.models import (
    Appointment,
    AppointmentParty,
    BookedParty,
    CrossProvinceApplication,
    Slot,
    booked_party_values,
)
from booking.db.models import AppointmentStatus as S
from booking.db.models.applications import OPEN_STATUSES
from booking.kernel.access import refuse
from booking.kernel.audit import record
from booking.kernel.codes import new_code
from booking.notifications.outbox import OutboxRow, Recipients, add_rows, cancel_pending, messages
from booking.offices.directory import OfficeInfo

ACTIVE = frozenset({S.PENDING_REVIEW, S.AWAITING_PARTY, S.CONFIRMED, S.CHECKED_IN})


class Actor(StrEnum):
    COUPLE = "couple"
    OFFICE = "office"  # a clerk of the office, or an admin
    SYSTEM = "system"  # the worker's sweeps


def actor_of(principal: Principal) -> Actor:
    if principal.is_couple:
        return Actor.COUPLE
    return Actor.SYSTEM if principal == SYSTEM else Actor.OFFICE


@dataclass(frozen=True, slots=True)
class Transition:
    name: str  # as the README's table says it
    sources: frozenset[S]
    target: S
    actors: frozenset[Actor]
    audit: str  # the audited action, when the office or the system makes it
    notice: str | None = None  # what the couple is told (an outbox kind)
    about_application: bool = False  # the notice's subject: the application, else the appointment
    hold: str | None = None  # the application's status when a held seat leaves review
    calendar: bool = False  # the couple's calendar must see it: SEQUENCE is raised


def _transition(name: str, sources: tuple[S, ...], target: S, actors: tuple[Actor, ...], audit: str,
       **effects: Any) -> Transition:
    return Transition(name, frozenset(sources), target, frozenset(actors), audit, **effects)


P, W, C, I = S.PENDING_REVIEW, S.AWAITING_PARTY, S.CONFIRMED, S.CHECKED_IN
CANCEL_BY_COUPLE = _transition("cancel", (P, W, C), S.CANCELLED, (Actor.COUPLE,), "appointment.cancel",
                      notice="appointment.cancelled", hold="withdrawn", calendar=True)
CANCEL_BY_OFFICE = _transition("cancel", (P, W, C), S.CANCELLED, (Actor.OFFICE,), "appointment.cancel",
                      notice="appointment.cancelled", hold="rejected", calendar=True)
# A closure of the date or the removal of a special opening: whatever stands on the slots
CLOSE_DAY = _transition("close day", (P, W, C, I), S.CANCELLED, (Actor.OFFICE,), "appointment.cancel",
               notice="appointment.cancelled", hold="rejected", calendar=True)
# A divorce visit: the other party confirms with their own account; or does not in time
CONFIRM_BY_PARTY = _transition("confirm", (W,), S.CONFIRMED, (Actor.COUPLE,), "appointment.confirm",
                      notice="appointment.confirmed", calendar=True)
EXPIRE_UNCONFIRMED = _transition("expire unconfirmed", (W,), S.CANCELLED, (Actor.SYSTEM,), "appointment.expire",
                        calendar=True)
# A divorce case ended (withdrawn, or by law): its visit goes with it, told by the case's
# own notice, which says neither why nor by whom
END_WITH_CASE = _transition("end with its case", (W, C, I), S.CANCELLED, (Actor.COUPLE, Actor.OFFICE, Actor.SYSTEM),
                   "appointment.cancel", calendar=True)
APPROVE = _transition("approve", (P,), S.CONFIRMED, (Actor.OFFICE,), "appointment.approve",
             notice="application.approved", about_application=True, hold="approved", calendar=True)
REJECT = _transition("reject", (P,), S.CANCELLED, (Actor.OFFICE,), "appointment.reject",
            notice="application.rejected", about_application=True, hold="rejected", calendar=True)
EXPIRE = _transition("expire", (P,), S.CANCELLED, (Actor.SYSTEM,), "appointment.expire",
            notice="application.expired", about_application=True, hold="expired", calendar=True)
CHECK_IN = _transition("check in", (C,), S.CHECKED_IN, (Actor.OFFICE,), "appointment.check_in")
COMPLETE = _transition("complete", (I,), S.COMPLETED, (Actor.OFFICE,), "appointment.complete")
TURN_AWAY = _transition("turn away", (C, I), S.TURNED_AWAY, (Actor.OFFICE,), "appointment.turn_away")
NO_SHOW = _transition("no-show", (C,), S.NO_SHOW, (Actor.OFFICE, Actor.SYSTEM), "appointment.no_show")

TRANSITIONS = (CANCEL_BY_COUPLE, CANCEL_BY_OFFICE, CLOSE_DAY, APPROVE, REJECT, EXPIRE, CHECK_IN, COMPLETE,
               TURN_AWAY, NO_SHOW, CONFIRM_BY_PARTY, EXPIRE_UNCONFIRMED, END_WITH_CASE)

# What hangs on the appointments of a service and follows their changes, in the same
# transaction, after them (the lock order's last step): (session, the changed
# appointments, the transition, who, when).
Follower = Callable[[AsyncSession, Sequence[Appointment], Transition, Principal, datetime], Awaitable[None]]
_FOLLOWERS: dict[str, Follower] = {}


def register_follower(service: str, follower: Follower) -> None:
    """Called by an area at wiring (``booking.background.wiring``); registering again replaces."""
    _FOLLOWERS[service] = follower


def allowed(appt: Appointment, t: Transition, principal: Principal) -> bool:
    return appt.status in t.sources and actor_of(principal) in t.actors


async def ensure_allowed(session: AsyncSession, principal: Principal, appt: Appointment,
                         t: Transition) -> None:
    """Refuse (audited for clerks) a change the appointment's status does not allow."""
    if not allowed(appt, t, principal):
        await refuse(session, principal, t.audit, appt, InvalidTransition())


# --- locking ---------------------------------------------------------------------------


async def lock_for_change(session: AsyncSession, appointment_id: uuid.UUID,
                          also_slot: int | None = None) -> Appointment | None:
    """The appointment, locked for a change in the lock order: its slot (and ``also_slot``,
    a reschedule's target) first, then the appointment. A reschedule that moved it between
    the first read and the locks (it holds the old slot's lock while it moves) sends us
    round again."""
    for _attempt in range(3):
        slot_id = (await session.execute(select(Appointment.slot_id).where(
            Appointment.id == appointment_id))).scalar_one_or_none()
        if slot_id is None:
            return None
        await lock_rows(session, Slot, [slot_id] if also_slot is None else [slot_id, also_slot])
        appt = (await lock_rows(session, Appointment, [appointment_id]))[0]
        if appt.slot_id == slot_id:
            return appt
        await session.rollback()
    raise Busy()


# --- applying ----------------------------------------------------------------------------


async def apply(session: AsyncSession, appts: Sequence[Appointment], t: Transition, *, actor: Principal,
                now: datetime, reason: str | None = None, office: OfficeInfo | None = None,
                **audit_detail: Any) -> list[CrossProvinceApplication]:
    """Move locked appointments (all in one of ``t.sources``) to ``t.target`` with every
    effect of the change; returns the applications whose holds it settled. ``office`` is
    needed only when reminders are written (approval). The caller commits; a batch costs
    a few statements, not a few per appointment."""
    if not appts:
        return []
    assert all(a.status in t.sources for a in appts), "check the transition first"
    held = [a for a in appts if a.status == S.PENDING_REVIEW]
    was_confirmed = [a for a in appts if a.status == S.CONFIRMED]
    by = actor_of(actor)
    for appt in appts:
        appt.status = t.target.value
        appt.updated_at = now
        if t.calendar:
            appt.sequence += 1
        if reason is not None:
            appt.status_reason = reason
        if t.target == S.CANCELLED:
            appt.cancelled_by = by.value
            appt.cancelled_at = now
        elif t.target == S.CHECKED_IN:
            appt.checked_in_at = now
        elif t.target == S.COMPLETED:
            appt.completed_at = now
    ids = [a.id for a in appts]
    if t.target not in ACTIVE:
        await _release_seats(session, appts)
        await session.execute(update(AppointmentParty).where(
            AppointmentParty.appointment_id.in_(ids)).values(active=False))  # type: ignore[attr-defined]
        # a closed day's seats are not to be taken again
        await _seats_freed(session, appts, now, refill=t is not CLOSE_DAY)
    if t.target != S.CONFIRMED:
        for appt in appts:
            appt.remind_at = None  # no reminder is derived for it any more
    if was_confirmed and t.target != S.CONFIRMED:
        # and none handed on already goes out
        await cancel_pending(session, "appointment", [a.id for a in was_confirmed], kinds=(REMINDER,))
    applications = await _settle_holds(session, held, t, by, actor, now, reason)
    await add_rows(session, await _notices(session, appts, t, by, applications, office, now), now)
    if by is not Actor.COUPLE:
        for appt in appts:
            record(session, actor, t.audit, target_type="appointment", target_id=appt.id,
                   office_id=appt.office_id, at=now, status=t.target.value, automatic=by is Actor.SYSTEM,
                   **audit_detail)
    for service in sorted({a.service for a in appts} & _FOLLOWERS.keys()):
        await _FOLLOWERS[service](session, [a for a in appts if a.service == service], t, actor, now)
    return list(applications.values())


_slot = Slot.__table__  # type: ignore[attr-defined]
_RELEASE = (update(_slot).where(_slot.c.id == bindparam("slot_id"))
            .values(booked=case((_slot.c.booked >= bindparam("count"), _slot.c.booked - bindparam("count")),
                                else_=0)))


async def _release_seats(session: AsyncSession, appts: Sequence[Appointment]) -> None:
    """The seats back, per slot in slot order (the slots are locked already), in one
    round trip for the batch."""
    counts = sorted(Counter(a.slot_id for a in appts).items())
    await session.execute(_RELEASE, [{"slot_id": slot_id, "count": count} for slot_id, count in counts])


async def _settle_holds(session: AsyncSession, held: Sequence[Appointment], t: Transition, by: Actor,
                        actor: Principal, now: datetime, reason: str | None
                        ) -> dict[uuid.UUID, CrossProvinceApplication]:
    """The open applications of appointments leaving review follow them (locked after the
    appointments, the order every change takes)."""
    if not held or t.hold is None:
        return {}
    of_held = CrossProvinceApplication.appointment_id.in_([a.id for a in held])  # type: ignore[attr-defined]
    found = {}
    for app in await lock_rows(session, CrossProvinceApplication, where=of_held):
        if app.status in OPEN_STATUSES:
            hold.move(app, t.hold, now, by.value, actor if by is Actor.OFFICE else None, reason)
        found[app.appointment_id] = app
    return found


async def _notices(session: AsyncSession, appts: Sequence[Appointment], t: Transition, by: Actor,
                   applications: dict[uuid.UUID, CrossProvinceApplication], office: OfficeInfo | None,
                   now: datetime) -> list[OutboxRow]:
    if t.notice is None and t.target != S.CONFIRMED:
        return []
    parties = await parties_of_many(session, [a.id for a in appts])
    rows: list[OutboxRow] = []
    for appt in appts:
        app = applications.get(appt.id)
        for who, locale in audiences(appt, parties[appt.id]):
            if t.notice is not None and t.about_application:
                if app is not None:
                    rows += messages(t.notice, "application", app.id, app.version, who, locale, now)
            elif t.notice is not None:
                payload = {"by": "couple" if by is Actor.COUPLE else "office"}
                rows += messages(t.notice, "appointment", appt.id, appt.sequence, who, locale, now,
                                 payload=payload)
        if t.target == S.CONFIRMED:
            assert office is not None, "reminders need the office"
            appt.remind_at = first_reminder(appt.starts_at, office, now)  # derived when due
    return rows


# --- the seat of a reschedule --------------------------------------------------------------


async def take_seat(session: AsyncSession, slot_id: int) -> bool:
    """A seat on an open slot under the capacity guard (the conditional UPDATE, which
    locks the slot); False when it is full or closed, or its day waits for a ballot's draw."""
    taken = await session.execute(
        update(Slot).where(Slot.id == slot_id, Slot.booked < Slot.capacity, Slot.status == "open",
                           ~ballot_pending(Slot))
        .values(booked=Slot.booked + 1).returning(Slot.id))
    return taken.first() is not None


async def move_seat(session: AsyncSession, appt: Appointment, new_slot: Slot, now: datetime) -> bool:
    """Take a seat on ``new_slot`` (locked by the caller, with the old one) under the
    capacity guard and give the old one back; False when the new slot is full or closed,
    or its day waits for a ballot's draw."""
    if not await take_seat(session, new_slot.id or 0):
        return False
    await _release_seats(session, [appt])
    await _seats_freed(session, [appt], now, refill=True)
    appt.slot_id = new_slot.id or 0
    appt.starts_at = new_slot.starts_at
    appt.ends_at = new_slot.ends_at
    return True


async def rewrite_reminders(session: AsyncSession, appt: Appointment, office: OfficeInfo, kind: str,
                            now: datetime) -> None:
    """After a move: the old reminders go, the couple is told (``kind``), and a confirmed
    appointment gets reminders for its new time (derived when due, at the new sequence)."""
    appt.sequence += 1
    appt.updated_at = now
    await cancel_pending(session, "appointment", appt.id, kinds=(REMINDER,))
    appt.remind_at = first_reminder(appt.starts_at, office, now) if appt.status == S.CONFIRMED else None
    rows = []
    for who, locale in audiences(appt, (await parties_of_many(session, [appt.id]))[appt.id]):
        rows += messages(kind, "appointment", appt.id, appt.sequence, who, locale, now)
    await add_rows(session, rows, now)


# --- allotted by another area: confirmed from the start -------------------------------------


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
    parties: Sequence[BookedParty]  # validated and stored, e.g. a ballot entry's
    appointment_id: uuid.UUID


class SeatsGone(Exception):
    """A slot had fewer free seats than the caller counted under its lock: nothing is kept."""


async def allot(session: AsyncSession, office: OfficeInfo, service: str, placements: Sequence[Placement],
                now: datetime) -> None:
    """Confirmed appointments for couples the caller has validated and chosen: one seat per
    placement under the capacity guard (one UPDATE per slot, in slot order; the caller
    holds the slots' locks), the appointments, their parties, and what a confirmation
    brings (the notice with its invite, the reminders). The caller frees the parties'
    other holds first: the partial unique index and the claim trigger refuse a second."""
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
            "status": S.CONFIRMED.value, "starts_at": p.slot.starts_at, "ends_at": p.slot.ends_at,
            "locale": p.locale, "sequence": 0, "review_reason": None, "created_at": now, "updated_at": now,
            "remind_at": first_reminder(p.slot.starts_at, office, now)})
        stored = [{"id": uuid.uuid4(), "appointment_id": p.appointment_id, "service": service, "active": True,
                   **booked_party_values(x)} for x in p.parties]
        parties += stored
        who = Recipients(p.account_id, next((s["id"] for s in stored if s["position"] == 1), None))
        outbox += messages("appointment.confirmed", "appointment", p.appointment_id, 0, who, p.locale, now)
    if appointments:
        await session.execute(insert(Appointment), appointments)
        await session.execute(insert(AppointmentParty), parties)
        await add_rows(session, outbox, now)


# --- the seats a change gives back -----------------------------------------------------------

SeatListener = Callable[[AsyncSession, Sequence[Appointment], datetime, bool], Awaitable[None]]
_SEAT_LISTENERS: list[SeatListener] = []


def on_seat_freed(fn: SeatListener) -> SeatListener:
    """Register a listener (at start-up, ``booking.background.wiring``; registering again
    changes nothing): it gets the appointments that just gave their seats back (their slots
    locked), in the transaction of the change, and whether the seats may be taken again."""
    if fn not in _SEAT_LISTENERS:
        _SEAT_LISTENERS.append(fn)
    return fn


async def _seats_freed(session: AsyncSession, appts: Sequence[Appointment], now: datetime, *, refill: bool) -> None:
    for listener in _SEAT_LISTENERS:
        await listener(session, appts, now, refill)


__all__ = ["ACTIVE", "APPROVE", "CANCEL_BY_COUPLE", "CANCEL_BY_OFFICE", "CHECK_IN", "CLOSE_DAY", "COMPLETE",
           "CONFIRM_BY_PARTY", "END_WITH_CASE", "EXPIRE", "EXPIRE_UNCONFIRMED", "NO_SHOW", "REJECT", "TRANSITIONS",
           "TURN_AWAY", "Actor", "Follower", "Placement", "SeatRef", "SeatsGone", "Transition", "actor_of", "allot",
           "allowed", "apply", "ensure_allowed", "lock_for_change", "move_seat", "on_seat_freed",
           "register_follower", "rewrite_reminders", "take_seat"]
