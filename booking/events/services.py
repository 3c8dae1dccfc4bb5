"""Events: organisers create, edit and cancel them; anyone lists them and reads their feed.

Edits run with the event row locked: a raised limit promotes waitlisted couples in the same
transaction, a lowered one never goes below what is taken, and a change couples must see
(when, where, what) raises the SEQUENCE, re-sends the invites and re-plans the reminders.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.appointments.invites import organizer
from booking.calendar.ics import CalendarEvent, build_calendar, uid_for
from booking.context import Context
from booking.db.models import ACTIVE_SIGNUP_STATUSES, Event, Signup, SignupParty
from booking.errors import Conflict, InvalidInput, NotFound, field_error, invalid
from booking.events import capacity, eligibility
from booking.events.invites import event_description, event_location, event_title
from booking.events.messages import announce, cancel_reminders
from booking.events.schemas import EventCreate, EventLinks, EventOut, EventUpdate
from booking.i18n import gettext, lazy
from booking.idempotency import IdempotencyClaim
from booking.kernel.access import refuse
from booking.kernel.audit import record

# --- problems -------------------------------------------------------------------------


class EventCancelled(Conflict):
    code = "event-cancelled"
    title = lazy("This event has been cancelled.")


class EventOver(Conflict):
    code = "event-over"
    title = lazy("This event is already over.")


class CapacityBelowTaken(Conflict):
    code = "capacity-below-taken"
    title = lazy("The limit cannot be lower than the places or seats already taken.")


# Fields a couple's calendar shows: changing one raises the SEQUENCE and tells the couples.
VISIBLE_FIELDS = ("title_zh", "title_en", "description_zh", "description_en", "venue_zh", "venue_en",
                  "address_zh", "address_en", "starts_at", "ends_at")
FEED_PAST_DAYS = 90
CREATE_SCOPE = "event.create"  # the Idempotency-Key's scope


# --- helpers --------------------------------------------------------------------------


def local_start_date(starts_at: datetime, timezone: str) -> date:
    """The date an event starts on where it takes place (``Event.starts_on``)."""
    return starts_at.astimezone(ZoneInfo(timezone)).date()


def event_out(event: Event, locale: str, now: datetime) -> EventOut:
    tz = ZoneInfo(event.timezone)
    zh = locale.startswith("zh")
    base = f"/api/v1/events/{event.id}"
    return EventOut(
        id=event.id, office_id=event.office_id, kind=event.kind, status=event.status,  # type: ignore[arg-type]
        title=event_title(event, locale), title_zh=event.title_zh, title_en=event.title_en,
        description=event.description_zh if zh or not event.description_en else event.description_en,
        venue=event.venue_zh if zh or not event.venue_en else event.venue_en,
        address=event.address_zh if zh or not event.address_en else event.address_en,
        timezone=event.timezone, starts_at=event.starts_at.astimezone(tz), ends_at=event.ends_at.astimezone(tz),
        signup_opens_at=event.signup_opens_at.astimezone(tz), signup_closes_at=event.signup_closes_at.astimezone(tz),
        signup_open=event.status == "published" and event.signup_opens_at <= now < event.signup_closes_at,
        capacity=event.capacity, places_taken=event.places_taken,
        remaining_places=max(0, event.capacity - event.places_taken), guests_per_couple=event.guests_per_couple,
        guest_seats=event.guest_seats, remaining_guest_seats=max(0, event.guest_seats - event.guest_seats_taken),
        waitlisted=event.waitlisted, requires_approval=event.requires_approval,
        waitlist_skip_unfit=event.waitlist_skip_unfit, eligibility=dict(event.eligibility or {}),
        sequence=event.sequence, cancel_reason=event.cancel_reason,
        links=EventLinks(self=base, signups=f"{base}/signups",
                         feed=f"/api/v1/calendars/offices/{event.office_id}/events.ics"),
    )


def _check_times(starts: datetime, ends: datetime, opens: datetime, closes: datetime, now: datetime,
                 changed: set[str]) -> None:
    errors = []
    if "starts_at" in changed and starts <= now:
        errors.append(field_error("starts_at", lazy("Must be in the future.")))
    if ends <= starts:
        errors.append(field_error("ends_at", lazy("Must be after the start.")))
    if closes <= opens:
        errors.append(field_error("signup_closes_at", lazy("Sign-ups must close after they open.")))
    if closes > starts:
        errors.append(field_error("signup_closes_at", lazy("Sign-ups must close by the start of the event.")))
    if errors:
        raise InvalidInput(errors=errors)


async def _refuse(session: AsyncSession, actor: Principal, action: str, event: Event,
                  problem: Conflict) -> None:
    """Refused organiser actions are audited too (in their own transaction), then raised."""
    await refuse(session, actor, action, event, problem, target_type="event")


async def staff_event(session: AsyncSession, principal: Principal, event_id: uuid.UUID, *,
                      lock: bool = False) -> Event:
    """The event, for a clerk of its office or an admin; 404 for anyone else."""
    event = await capacity.lock_event(session, event_id) if lock else await session.get(Event, event_id)
    if event is None or not principal.manages_office(event.office_id):
        raise NotFound()
    return event


# --- organisers -----------------------------------------------------------------------


async def create_event(ctx: Context, data: EventCreate, *, key: str | None = None) -> EventOut:
    """Create an event. With an Idempotency-Key, a retry with the same body gets the first
    answer and creates nothing (also once the event has started or the office closed); the
    key with another body is refused (409)."""
    rt, session, principal, locale = ctx.rt, ctx.session, ctx.caller, ctx.locale
    now = rt.clock.now()
    principal.require_office(data.office_id)
    claim = IdempotencyClaim.of(rt, principal.id, key, CREATE_SCOPE, data.model_dump(mode="json"))
    if claim is not None and (answer := await claim.take(session, now)) is not None:
        return EventOut.model_validate(answer[1])
    office = await rt.offices.get(data.office_id, session)
    if office is None:
        raise NotFound()
    rules = eligibility.normalise(data.kind, data.eligibility.model_dump())
    if data.kind == "charity" and data.requires_approval is False:
        raise invalid("requires_approval", lazy("Charity weddings always need the organiser's approval."))
    opens = data.signup_opens_at or now
    closes = data.signup_closes_at or data.starts_at
    _check_times(data.starts_at, data.ends_at, opens, closes, now, {"starts_at"})
    event = Event(
        office_id=data.office_id, kind=data.kind, status="published", title_zh=data.title_zh,
        title_en=data.title_en, description_zh=data.description_zh, description_en=data.description_en,
        venue_zh=data.venue_zh, venue_en=data.venue_en, address_zh=data.address_zh, address_en=data.address_en,
        timezone=data.timezone or office.timezone, starts_at=data.starts_at, ends_at=data.ends_at,
        starts_on=local_start_date(data.starts_at, data.timezone or office.timezone),
        signup_opens_at=opens, signup_closes_at=closes, capacity=data.capacity,
        guests_per_couple=data.guests_per_couple,
        guest_seats=data.guest_seats if data.guest_seats is not None else data.capacity * data.guests_per_couple,
        requires_approval=data.kind == "charity" or bool(data.requires_approval),
        waitlist_skip_unfit=data.waitlist_skip_unfit, eligibility=rules, created_by=principal.id,
        created_at=now, updated_at=now)
    session.add(event)
    await session.flush()
    record(session, principal, "event.create", target_type="event", target_id=event.id, office_id=event.office_id,
           at=now, kind=event.kind, capacity=event.capacity)
    created = event_out(event, locale, now)
    if claim is not None:
        claim.settle(201, created.model_dump(mode="json"))
    await session.commit()
    return created


async def update_event(ctx: Context, event_id: uuid.UUID,
                       data: EventUpdate) -> EventOut:
    rt, session, principal, locale = ctx.rt, ctx.session, ctx.caller, ctx.locale
    now = rt.clock.now()
    event = await staff_event(session, principal, event_id, lock=True)
    office_id = event.office_id
    if event.status == "cancelled":
        await _refuse(session, principal, "event.update", event, EventCancelled())
    if now >= event.ends_at:
        await _refuse(session, principal, "event.update", event, EventOver())
    changes: dict[str, Any] = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    if "eligibility" in changes:
        given = {k: v for k, v in changes["eligibility"].items() if v is not None}
        changes["eligibility"] = eligibility.normalise(event.kind, {**(event.eligibility or {}), **given})
    if event.kind == "charity" and changes.get("requires_approval") is False:
        raise invalid("requires_approval", lazy("Charity weddings always need the organiser's approval."))
    changes = {k: v for k, v in changes.items() if getattr(event, k) != v}
    times = {k: changes.get(k, getattr(event, k)) for k in ("starts_at", "ends_at", "signup_opens_at",
                                                             "signup_closes_at")}
    _check_times(times["starts_at"], times["ends_at"], times["signup_opens_at"], times["signup_closes_at"], now,
                 set(changes))
    if changes.get("capacity", event.capacity) < event.places_taken or \
            changes.get("guest_seats", event.guest_seats) < event.guest_seats_taken:
        await _refuse(session, principal, "event.update", event, CapacityBelowTaken(
            places_taken=event.places_taken, guest_seats_taken=event.guest_seats_taken))
    for key, value in changes.items():
        setattr(event, key, value)
    event.starts_on = local_start_date(event.starts_at, event.timezone)
    visible = sorted(set(changes) & set(VISIBLE_FIELDS))
    if visible:
        event.sequence += 1
    event.updated_at = now
    await session.flush()
    office = await rt.offices.of(office_id, session)
    if visible:
        # Every couple holding or awaiting a place gets the updated invite; reminders are
        # planned again for the new time (and the new SEQUENCE their renderer checks).
        active = list((await session.execute(select(Signup.id).where(
            Signup.event_id == event_id, Signup.status.in_(ACTIVE_SIGNUP_STATUSES)))).scalars())  # type: ignore[attr-defined]
        await cancel_reminders(session, active)
        await announce(session, "event.changed", active, event, office.rules, now, payload={"fields": visible})
    promoted = await capacity.promote(session, event_id, now)
    await announce(session, "signup.promoted", [p.signup_id for p in promoted], event, office.rules, now)
    record(session, principal, "event.update", target_type="event", target_id=event_id, office_id=office_id,
           at=now, fields=sorted(changes), promoted=len(promoted))
    await session.commit()
    await session.refresh(event)
    return event_out(event, locale, now)


async def cancel_event(ctx: Context, event_id: uuid.UUID,
                       reason: str) -> EventOut:
    """Cancel the event: every sign-up still standing is cancelled, its reminders with it,
    and every couple is told (with a CANCEL for their invite)."""
    rt, session, principal, locale = ctx.rt, ctx.session, ctx.caller, ctx.locale
    now = rt.clock.now()
    event = await staff_event(session, principal, event_id, lock=True)
    office_id = event.office_id
    if event.status == "cancelled":
        await _refuse(session, principal, "event.cancel", event, EventCancelled())
    if now >= event.ends_at:
        await _refuse(session, principal, "event.cancel", event, EventOver())
    standing = ("pending_approval", "confirmed", "waitlisted")
    waiting = set((await session.execute(select(Signup.id).where(
        Signup.event_id == event_id, Signup.status == "waitlisted"))).scalars())
    affected = list((await session.execute(
        update(Signup).where(Signup.event_id == event_id, Signup.status.in_(standing))  # type: ignore[attr-defined]
        .values(status="cancelled", cancelled_by="office", cancelled_at=now, updated_at=now,
                sequence=Signup.sequence + 1)
        .returning(Signup.id))).scalars())
    await session.execute(update(SignupParty).where(
        SignupParty.event_id == event_id, SignupParty.active.is_(True),  # type: ignore[attr-defined]
        SignupParty.signup_id.in_(select(Signup.id).where(  # type: ignore[attr-defined]
            Signup.event_id == event_id, Signup.status == "cancelled"))).values(active=False))
    event.status = "cancelled"
    event.cancel_reason = reason
    event.cancelled_at = now
    event.sequence += 1
    event.updated_at = now
    await session.flush()
    await capacity.recount(session, event_id)
    office = await rt.offices.of(office_id, session)
    await cancel_reminders(session, affected)
    # "held": whether the couple had an invite to cancel (waitlisted couples had none)
    await announce(session, "event.cancelled", [i for i in affected if i not in waiting], event, office.rules, now,
                   payload={"held": True})
    await announce(session, "event.cancelled", [i for i in affected if i in waiting], event, office.rules, now,
                   payload={"held": False})
    record(session, principal, "event.cancel", target_type="event", target_id=event_id, office_id=office_id,
           at=now, signups_cancelled=len(affected))
    await session.commit()
    await session.refresh(event)
    return event_out(event, locale, now)


# --- anyone ---------------------------------------------------------------------------


async def get_event(ctx: Context, event_id: uuid.UUID) -> EventOut:
    rt, session, locale = ctx.rt, ctx.session, ctx.locale
    event = await session.get(Event, event_id)
    if event is None:
        raise NotFound()
    return event_out(event, locale, rt.clock.now())


async def list_events(ctx: Context, *, office_id: int | None, kind: str | None, start: date | None,
                      end: date | None, include_cancelled: bool, limit: int,
                      offset: int) -> tuple[list[EventOut], int]:
    """Events by start; by default those not yet over. ``from``/``to`` are compared with the
    date each event starts on in its own timezone (``Event.starts_on``)."""
    rt, session, locale = ctx.rt, ctx.session, ctx.locale
    now = rt.clock.now()
    query = select(Event)
    if office_id is not None:
        query = query.where(Event.office_id == office_id)
    if kind:
        query = query.where(Event.kind == kind)
    if not include_cancelled:
        query = query.where(Event.status == "published")
    if start is not None:
        query = query.where(Event.starts_on >= start)
    else:
        query = query.where(Event.ends_at > now)
    if end is not None:
        query = query.where(Event.starts_on <= end)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = (await session.execute(query.order_by(Event.starts_at, Event.id).limit(limit).offset(offset))).scalars()
    return [event_out(e, locale, now) for e in rows], total


async def office_feed(ctx: Context, office_id: int) -> bytes:
    """The office's events as a public iCalendar feed (METHOD:PUBLISH): what, when and
    where, and nothing about who signed up."""
    rt, session, locale = ctx.rt, ctx.session, ctx.locale
    now = rt.clock.now()
    office = await rt.offices.get(office_id, session)
    if office is None:
        raise NotFound()
    events = (await session.execute(
        select(Event).where(Event.office_id == office_id, Event.ends_at > now - timedelta(days=FEED_PAST_DAYS))
        .order_by(Event.starts_at).limit(500))).scalars().all()
    base = rt.settings.public_base_url.rstrip("/")
    email, name = organizer(office, rt.settings, locale)
    items = [CalendarEvent(
        uid=uid_for("event", e.id), sequence=e.sequence, start=e.starts_at, end=e.ends_at, timezone=e.timezone,
        summary=event_title(e, locale), description=event_description(e, locale), location=event_location(e, locale),
        status="CANCELLED" if e.status == "cancelled" else "CONFIRMED", organizer_email=email, organizer_name=name,
        url=f"{base}/api/v1/events/{e.id}") for e in events]
    title = gettext("{office}: weddings and events", locale).format(office=office.name(locale))
    return build_calendar(items, method="PUBLISH", stamp=now, name=title)
