"""Booking, changing and running appointments.

Booking: validate everything first (parties, slot, office rules, no-show bans, the
jurisdiction seam), then one write that takes the seat and records everything else
(``store.py``). Cancel and reschedule lock the appointment row, move seats with conditional
updates and rewrite the outbox, all in one transaction.
"""

from __future__ import annotations

import uuid

import msgspec
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import SYSTEM, Principal
from booking.applications.drafts import (
    APPLICATION_SCOPE,
    PrereviewNotRequired,
    ReviewRequest,
    application_body,
    new_application,
    received_rows,
)
from booking.appointments.codes import display_code, new_code, normalise_code
from booking.appointments.schemas import AppointmentIn, RosterEntry
from booking.appointments.store import (
    BookingDraft,
    CodeTaken,
    IdempotencyClaim,
    KeyTaken,
    PartyBanned,
    PartyHoldsBooking,
    SlotClosed,
    SlotFull,
    SqlBookingStore,
    banned_until,
    no_show_times,
    stored_answer,
)
from booking.audit.services import record
from booking.db.models import Appointment, AppointmentParty, CrossProvinceApplication, Slot, UserAccount
from booking.errors import Conflict, InvalidInput, NotFound, Problem, field_error, invalid
from booking.i18n import lazy
from booking.jurisdiction.periods import office_area, policy_book
from booking.jurisdiction.policy import UNANSWERED, PartyHome, assess
from booking.notifications.outbox import OutboxRow, Recipients, add_rows, cancel_pending, messages
from booking.offices.directory import OfficeDirectory, OfficeInfo
from booking.offices.rules import BookingRules
from booking.parties.rules import PartyFacts, check_parties
from booking.parties.schemas import PartyOut, PartyRevealed
from booking.parties.services import PreparedParty, prepare_parties
from booking.runtime import Runtime

# --- problems a couple or clerk can meet ------------------------------------------------


class SlotFullProblem(Conflict):
    code = "slot-full"
    title = lazy("This slot is fully booked.")


class SlotNotBookable(Conflict):
    code = "slot-not-bookable"
    title = lazy("This slot cannot be booked now.")


class PartyAlreadyBooked(Conflict):
    code = "party-already-booked"
    title = lazy("A party already holds an active booking for this service.")


class IdempotencyKeyReused(Conflict):
    code = "idempotency-key-reused"
    title = lazy("This Idempotency-Key was already used for a different request.")


class NoShowBan(Conflict):
    code = "no-show-ban"
    title = lazy("Booking is suspended after missed appointments.")


class NotInJurisdiction(Conflict):
    code = "not-in-jurisdiction"
    title = lazy("This office cannot register this couple on that date.")


PERMIT_REQUIRED = lazy("On that date a couple with neither hukou in this province needs a party's residence "
                       "permit issued in the office's area.")


class CancelDeadlinePassed(Conflict):
    code = "cancel-deadline-passed"
    title = lazy("The deadline for changing this appointment has passed.")


class InvalidTransition(Conflict):
    code = "invalid-status"
    title = lazy("The appointment is not in a state that allows this.")


CREATE_SCOPE = "appointment.create"
REMINDER = "appointment.reminder"
NO_SHOW_GRACE = timedelta(hours=1)
# how late a reminder may still go out; after that it is dropped (never after the start)
DAY_BEFORE_GRACE = timedelta(hours=3)
HOURS_BEFORE_GRACE = timedelta(minutes=45)


# --- helpers -----------------------------------------------------------------------------


def _directory(rt: Runtime) -> OfficeDirectory:
    return rt.extras["offices"]  # type: ignore[no-any-return]


def request_fingerprint(rt: Runtime, scope: str, body: dict[str, Any]) -> str:
    """A keyed hash of the canonical request (the body carries personal data)."""
    canonical = _canonical.encode(body).decode()
    return rt.vault.lookup_hash(f"{scope}|{canonical}", kind="idempotency")


_canonical = msgspec.json.Encoder(order="sorted")


def _iso(value: datetime, tz: Any = None) -> str:
    """ISO 8601 with an offset; UTC written as Z (as pydantic writes it)."""
    text = (value.astimezone(tz) if tz is not None else value.astimezone(UTC)).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def appointment_body(*, id: uuid.UUID, code: str, status: str, office: OfficeInfo, service: str, slot_id: int,
                     starts_at: datetime, ends_at: datetime, channel: str, sequence: int, review_reason: str | None,
                     parties: list[dict[str, Any]], created_at: datetime,
                     application_id: uuid.UUID | None = None) -> dict[str, Any]:
    """The one JSON shape of an appointment (``AppointmentOut`` documents it): built
    directly, without ORM or schema objects, because the booking hot path returns it."""
    tz = office.tz
    base = f"/api/v1/appointments/{id}"
    links = {"self": base, "invite": f"{base}/invite.ics", "qr": f"{base}/qr.svg"}
    if application_id is not None:  # the cross-province application that holds this seat
        links["application"] = f"/api/v1/cross-province-applications/{application_id}"
    return {
        "id": str(id), "code": code, "status": status, "office_id": office.id, "service": service,
        "slot_id": slot_id, "starts_at": _iso(starts_at, tz), "ends_at": _iso(ends_at, tz),
        "cancel_deadline": _iso(office.rules.cancel_deadline(starts_at), tz), "channel": channel,
        "sequence": sequence, "review_reason": review_reason, "parties": parties, "created_at": _iso(created_at),
        "links": links,
    }


def appointment_out(appt: Appointment, parties: list[AppointmentParty], office: OfficeInfo,
                    application_id: uuid.UUID | None = None) -> dict[str, Any]:
    return appointment_body(
        id=appt.id, code=appt.code, status=appt.status, office=office, service=appt.service, slot_id=appt.slot_id,
        starts_at=appt.starts_at, ends_at=appt.ends_at, channel=appt.channel, sequence=appt.sequence,
        review_reason=appt.review_reason, parties=[party_body(p) for p in parties], created_at=appt.created_at,
        application_id=application_id)


async def _application_id(session: AsyncSession, appt: Appointment) -> uuid.UUID | None:
    """Only an appointment routed to pre-review has an application: others cost no query."""
    if appt.review_reason is None:
        return None
    return (await session.execute(select(CrossProvinceApplication.id).where(
        CrossProvinceApplication.appointment_id == appt.id))).scalar_one_or_none()


def party_body(p: Any) -> dict[str, Any]:
    """Masked: the ID number and phone never leave in full (see ``reveal``)."""
    return {"position": p.position, "name": p.name, "id_type": p.id_type, "id_number": p.id_masked,
            "phone": p.phone_masked, "sex": p.sex, "hukou_province": p.hukou_province}


def recipients(account_id: uuid.UUID | None, parties: list[Any]) -> Recipients:
    contact = min(parties, key=lambda p: p.position) if parties else None
    return Recipients(account_id, contact.id if contact else None)


def reminder_rows(appointment_id: uuid.UUID, sequence: int, who: Recipients, locale: str, starts_at: datetime,
                  office: OfficeInfo, now: datetime) -> list[OutboxRow]:
    """The day before at the office's reminder hour, and a few hours before. A reminder
    whose moment has already passed is not written (a booking made an hour before its
    slot gets no day-before reminder); one still unsent a while after its moment, or at
    the start of the appointment, is dropped rather than sent late."""
    rules: BookingRules = office.rules
    local_day = starts_at.astimezone(office.tz).date()
    rows: list[OutboxRow] = []
    day_before = datetime.combine(local_day - timedelta(days=1), rules.reminder_day_before_at, tzinfo=office.tz)
    if day_before > now:
        rows += messages(REMINDER, "appointment", appointment_id, sequence, who, locale,
                         day_before.astimezone(UTC), not_after=min(starts_at, day_before + DAY_BEFORE_GRACE),
                         tag="day_before")
    if rules.reminder_hours_before:
        hours_before = starts_at - timedelta(hours=rules.reminder_hours_before)
        if hours_before > now:
            rows += messages(REMINDER, "appointment", appointment_id, sequence, who, locale, hours_before,
                             not_after=min(starts_at, hours_before + HOURS_BEFORE_GRACE), tag="hours_before",
                             channels=("sms",))
    return rows


def _release_problem(rules: BookingRules, slot_date: date, starts_at: datetime, now: datetime,
                     office: OfficeInfo) -> SlotNotBookable | None:
    now_local = now.astimezone(office.tz)
    if slot_date > rules.last_released_date(now_local):
        opens = rules.release_moment(slot_date, office.tz)
        return SlotNotBookable(lazy("Booking for this date opens at {opens}.", opens=opens.isoformat()),
                               opens_at=opens.isoformat())
    if slot_date < rules.first_bookable_date(now_local) or starts_at <= now:
        return SlotNotBookable(lazy("Booking for this slot has closed."))
    return None


# --- booking -------------------------------------------------------------------------


async def book(rt: Runtime, principal: Principal, data: AppointmentIn, *, key: str | None, locale: str,
               counter_office: int | None = None, review: ReviewRequest | None = None) -> tuple[int, dict[str, Any]]:
    """Book a slot for two parties; returns (status code, body). ``counter_office`` is set
    when a clerk books for a walk-in couple at their own office; ``review`` when the couple
    applies through the cross-province endpoint (the body is then the application).

    Whenever the policy routes the couple to pre-review, from either endpoint, the same
    write opens the application that holds the seat (``booking.applications``).

    One database round trip when all is well: the slot's fixed facts and the office come
    from per-process caches, and everything that can change (seats, open/closed, the
    parties' other bookings, no-show bans, the idempotency key) is checked by the write.
    """
    now = rt.clock.now()
    body = data.model_dump(mode="json")
    if counter_office is not None:
        body["counter_office"] = counter_office
    scope = CREATE_SCOPE
    if review is not None:
        body["answers"] = review.answers
        scope = APPLICATION_SCOPE
    fingerprint = request_fingerprint(rt, scope, body)
    try:
        return await _book(rt, principal, data, key, locale, counter_office, now, fingerprint, review, scope)
    except Problem:
        # A retry of a request that succeeded gets the first answer, even if the slot has
        # filled up or closed since.
        if key is not None:
            answer = await stored_answer(rt.db, principal.id, key)
            if answer is not None:
                return _replay(answer.scope, answer.request_hash, answer.status_code, answer.response, fingerprint,
                               scope)
        raise


async def _book(rt: Runtime, principal: Principal, data: AppointmentIn, key: str | None, locale: str,
                counter_office: int | None, now: datetime, fingerprint: str, review: ReviewRequest | None,
                scope: str) -> tuple[int, dict[str, Any]]:
    parties = prepare_parties(rt.vault, data.parties, now.astimezone(UTC).date())
    slot = await rt.extras["slot_facts"].get(data.slot_id)
    office = await _directory(rt).get(slot.office_id) if slot is not None else None
    if slot is None or office is None or (counter_office is not None and slot.office_id != counter_office):
        raise invalid("slot_id", lazy("No such slot."))
    if data.service not in office.services or slot.service != data.service:
        raise invalid("service", lazy("The slot is not for this service."))
    problem = _release_problem(office.rules, slot.local_date, slot.starts_at, now, office)
    if problem is not None:
        raise problem
    refusals = check_parties(data.service, [p.facts for p in parties], slot.local_date)
    if refusals:
        raise InvalidInput(errors=[field_error(r.field, r.message) for r in refusals])
    # The policy periods come from the in-process cache: no round trip on this path.
    verdict = assess(office_area(office), data.service,
                     [PartyHome(p.home_province, p.id_type) for p in parties], slot.local_date,
                     await policy_book(rt).periods(),
                     residence_permit=review.residence_permit if review is not None else UNANSWERED)
    if not verdict.may_register:
        if verdict.reason == "residence_permit_required":
            raise NotInJurisdiction(PERMIT_REQUIRED, reason=verdict.reason)
        raise NotInJurisdiction(reason=verdict.reason)
    if review is not None and not verdict.prereview:
        raise PrereviewNotRequired()

    status = "pending_review" if verdict.prereview else "confirmed"
    appointment_id = uuid.uuid4()
    account_id = principal.id if counter_office is None else None
    notice_locale = data.locale or locale
    who = recipients(account_id, parties)
    application = None
    if status == "confirmed":
        outbox = messages("appointment.confirmed", "appointment", appointment_id, 0, who, notice_locale, now)
        outbox += reminder_rows(appointment_id, 0, who, notice_locale, slot.starts_at, office, now)
    else:
        application = new_application(
            appointment_id=appointment_id, office_id=office.id, account_id=account_id, service=data.service,
            verdict=verdict, review=review, now=now, hold_hours=office.rules.review_hold_hours,
            starts_at=slot.starts_at, by="office" if counter_office is not None else "couple")
        outbox = received_rows(application, who, notice_locale, now)
    channel = "online" if counter_office is None else "counter"
    review_reason = verdict.reason if verdict.prereview else None
    policy = office.rules.no_show
    draft = BookingDraft(
        appointment_id=appointment_id, code=new_code(), office_id=office.id, slot_id=slot.id, service=data.service,
        account_id=account_id, booked_by=principal.id, channel=channel, status=status, starts_at=slot.starts_at,
        ends_at=slot.ends_at, locale=notice_locale, review_reason=review_reason, parties=parties, outbox=outbox,
        response={}, now=now, no_show_since=now - timedelta(days=policy.window_days),
        no_show_limit=policy.limit, ban_days=policy.ban_days,
        claim=IdempotencyClaim(principal.id, key, scope, fingerprint) if key else None,
        application=application,
    )
    party_bodies = [party_body(p) for p in parties]
    for _attempt in range(5):
        draft.response = appointment_body(
            id=appointment_id, code=draft.code, status=status, office=office, service=data.service,
            slot_id=slot.id, starts_at=slot.starts_at, ends_at=slot.ends_at, channel=channel, sequence=0,
            review_reason=review_reason, parties=party_bodies, created_at=now,
            application_id=application.id if application else None)
        if review is not None and application is not None:
            draft.response = application_body(application, office.tz, draft.response, [], notice_locale)
        try:
            if counter_office is None:
                await rt.extras["booking_store"].book(draft)
            else:
                # A walk-in is a clerk's action: the transactional store commits its audit
                # entry with the booking.
                async def audit(session: AsyncSession, draft: BookingDraft = draft) -> None:
                    record(session, principal, "appointment.book_counter", target_type="appointment",
                           target_id=draft.appointment_id, office_id=draft.office_id, slot_id=draft.slot_id,
                           at=now)

                await SqlBookingStore(rt.db).book(draft, also=audit)
            return 201, draft.response
        except CodeTaken:
            draft.code = new_code()
        except KeyTaken:
            answer = await stored_answer(rt.db, principal.id, key or "")
            if answer is None:  # the other request rolled back after all: try again
                continue
            return _replay(answer.scope, answer.request_hash, answer.status_code, answer.response, fingerprint,
                           scope)
        except SlotFull:
            raise SlotFullProblem() from None
        except SlotClosed:
            raise SlotNotBookable(lazy("The office has closed this slot.")) from None
        except PartyBanned:
            raise await _ban_problem(rt, office, parties, now) from None
        except PartyHoldsBooking as exc:
            position = next((p.position for p in parties if p.id_hash == exc.id_hash), None)
            raise PartyAlreadyBooked(party=position) from None
    raise RuntimeError("could not draw a free booking code")  # pragma: no cover - 31**8 codes


async def _ban_problem(rt: Runtime, office: OfficeInfo, parties: list[PreparedParty], now: datetime) -> Conflict:
    policy = office.rules.no_show
    async with rt.db.session() as session:
        times = await no_show_times(session, [p.id_hash for p in parties],
                                    now - timedelta(days=policy.window_days))
    for party in parties:
        ends = banned_until(times.get(party.id_hash, []), policy.limit, policy.ban_days, now)
        if ends is not None:
            ends_on = ends.astimezone(office.tz).date().isoformat()
            return NoShowBan(lazy("Party {position} can book again from {date}.", position=party.position,
                                  date=ends_on), party=party.position, ban_ends_on=ends_on)
    return SlotFullProblem()  # the ban ended between the write and this read: a plain retry will do


def _replay(scope: str, stored_hash: str, status_code: int, response: dict[str, Any],
            fingerprint: str, expected_scope: str = CREATE_SCOPE) -> tuple[int, dict[str, Any]]:
    if scope != expected_scope or stored_hash != fingerprint:
        raise IdempotencyKeyReused()
    return status_code, response


# --- reading ---------------------------------------------------------------------------


async def _load(session: AsyncSession, appointment_id: uuid.UUID, *, lock: bool = False) -> Appointment | None:
    return await session.get(Appointment, appointment_id, with_for_update=lock or None)  # type: ignore[arg-type]


def _may_see(principal: Principal, appt: Appointment) -> bool:
    if principal.is_couple:
        return appt.account_id == principal.id
    return principal.manages_office(appt.office_id)


async def _parties(session: AsyncSession, appointment_id: uuid.UUID) -> list[AppointmentParty]:
    rows = await session.execute(select(AppointmentParty).where(AppointmentParty.appointment_id == appointment_id)
                                 .order_by(AppointmentParty.position))
    return list(rows.scalars().all())


async def get_appointment(rt: Runtime, session: AsyncSession, principal: Principal,
                          appointment_id: uuid.UUID) -> dict[str, Any]:
    appt = await _load(session, appointment_id)
    if appt is None or not _may_see(principal, appt):
        raise NotFound()
    office = await _office(rt, appt.office_id, session)
    return appointment_out(appt, await _parties(session, appt.id), office, await _application_id(session, appt))


async def list_own(rt: Runtime, session: AsyncSession, principal: Principal, *, status: str | None,
                   limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    query = select(Appointment).where(Appointment.account_id == principal.id)
    if status:
        query = query.where(Appointment.status == status)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    appts = list((await session.execute(query.order_by(Appointment.starts_at.desc()).limit(limit).offset(offset)))  # type: ignore[attr-defined]
                 .scalars().all())
    out = []
    for appt in appts:
        office = await _office(rt, appt.office_id, session)
        out.append(appointment_out(appt, await _parties(session, appt.id), office,
                                   await _application_id(session, appt)))
    return out, total


async def _office(rt: Runtime, office_id: int, session: AsyncSession | None = None) -> OfficeInfo:
    """The office of an existing appointment (also when the office was deactivated since)."""
    office = await _directory(rt).get(office_id, session)
    if office is not None:
        return office
    from booking.db.models import Office
    from booking.offices.directory import office_info

    if session is None:
        async with rt.db.session() as own:
            row = await own.get(Office, office_id)
    else:
        row = await session.get(Office, office_id)
    if row is None:
        raise NotFound()
    return office_info(row)


# --- changes ---------------------------------------------------------------------------


async def _release_seat(session: AsyncSession, appt: Appointment) -> None:
    await session.execute(update(Slot).where(Slot.id == appt.slot_id, Slot.booked > 0)
                          .values(booked=Slot.booked - 1))


async def _deactivate_parties(session: AsyncSession, appt: Appointment) -> None:
    await session.execute(update(AppointmentParty).where(AppointmentParty.appointment_id == appt.id)
                          .values(active=False))


async def cancel(rt: Runtime, session: AsyncSession, principal: Principal, appointment_id: uuid.UUID,
                 reason: str | None = None) -> dict[str, Any]:
    """Cancel: before the office's deadline for couples, any time before the start for the
    office. The seat returns at once; pending reminders are cancelled; a CANCEL goes out."""
    now = rt.clock.now()
    appt = await _load(session, appointment_id, lock=True)
    if appt is None or not _may_see(principal, appt):
        raise NotFound()
    office = await _office(rt, appt.office_id, session)
    by_office = not principal.is_couple
    if appt.status not in ("confirmed", "pending_review"):
        await _refuse(session, principal, "appointment.cancel", appt, InvalidTransition())
    if not by_office and now > office.rules.cancel_deadline(appt.starts_at):
        await _refuse(session, principal, "appointment.cancel", appt, CancelDeadlinePassed(
            deadline=office.rules.cancel_deadline(appt.starts_at).astimezone(office.tz).isoformat()))
    if appt.status == "pending_review":
        # the seat was held for a cross-province application: it closes with the appointment
        from booking.applications.services import close_with_appointment

        await close_with_appointment(session, appt, by_office=by_office, now=now, reason=reason)
    appt.status = "cancelled"
    appt.cancelled_by = "office" if by_office else "couple"
    appt.cancelled_at = now
    appt.sequence += 1
    appt.updated_at = now
    await _release_seat(session, appt)
    await _deactivate_parties(session, appt)
    parties = await _parties(session, appt.id)
    await cancel_pending(session, "appointment", appt.id, kinds=(REMINDER,))
    await add_rows(session, messages("appointment.cancelled", "appointment", appt.id, appt.sequence,
                                     recipients(appt.account_id, parties), appt.locale, now,
                                     payload={"by": appt.cancelled_by}), now)
    if by_office:
        record(session, principal, "appointment.cancel", target_type="appointment", target_id=appt.id,
               office_id=appt.office_id, at=now, reason_given=bool(reason))
    await session.commit()
    return appointment_out(appt, parties, office)


async def reschedule(rt: Runtime, session: AsyncSession, principal: Principal, appointment_id: uuid.UUID,
                     new_slot_id: int) -> dict[str, Any]:
    """Move to another slot of the same office and service in one transaction: the new
    seat is taken and the old one released together, or nothing changes."""
    now = rt.clock.now()
    appt = await _load(session, appointment_id, lock=True)
    if appt is None or not _may_see(principal, appt):
        raise NotFound()
    office = await _office(rt, appt.office_id, session)
    if appt.status not in ("confirmed", "pending_review"):
        raise InvalidTransition()
    if principal.is_couple and now > office.rules.cancel_deadline(appt.starts_at):
        raise CancelDeadlinePassed(
            deadline=office.rules.cancel_deadline(appt.starts_at).astimezone(office.tz).isoformat())
    if new_slot_id == appt.slot_id:
        raise invalid("slot_id", lazy("This is already the appointment's slot."))
    new_slot = await session.get(Slot, new_slot_id)
    if new_slot is None or new_slot.office_id != appt.office_id or new_slot.service != appt.service:
        raise invalid("slot_id", lazy("No such slot."))
    if new_slot.status != "open":
        raise SlotNotBookable(lazy("The office has closed this slot."))
    problem = _release_problem(office.rules, new_slot.local_date, new_slot.starts_at, now, office)
    if problem is not None:
        raise problem
    parties = await _parties(session, appt.id)
    refusals = check_parties(appt.service, [PartyFacts(p.id_hash, p.sex, p.birth_date) for p in parties],
                             new_slot.local_date)
    if refusals:
        raise InvalidInput(errors=[field_error(r.field, r.message) for r in refusals])

    # Lock both slots in id order (two reschedules crossing each other cannot deadlock),
    # then take the new seat with a conditional update and release the old one.
    await session.execute(select(Slot.id).where(Slot.id.in_(sorted({appt.slot_id, new_slot_id})))  # type: ignore[union-attr]
                          .order_by(Slot.id).with_for_update())
    taken = await session.execute(
        update(Slot).where(Slot.id == new_slot_id, Slot.booked < Slot.capacity, Slot.status == "open")
        .values(booked=Slot.booked + 1).returning(Slot.id))
    if taken.first() is None:
        await session.rollback()
        raise SlotFullProblem()
    await _release_seat(session, appt)
    appt.slot_id = new_slot_id
    appt.starts_at = new_slot.starts_at
    appt.ends_at = new_slot.ends_at
    appt.sequence += 1
    appt.updated_at = now
    who = recipients(appt.account_id, parties)
    await cancel_pending(session, "appointment", appt.id, kinds=(REMINDER,))
    rows = messages("appointment.rescheduled", "appointment", appt.id, appt.sequence, who, appt.locale, now)
    if appt.status == "confirmed":
        rows += reminder_rows(appt.id, appt.sequence, who, appt.locale, appt.starts_at, office, now)
    await add_rows(session, rows, now)
    if not principal.is_couple:
        record(session, principal, "appointment.reschedule", target_type="appointment", target_id=appt.id,
               office_id=appt.office_id, at=now, to_slot=new_slot_id)
    await session.commit()
    return appointment_out(appt, parties, office)


# --- the clerk's desk ------------------------------------------------------------------


async def _refuse(session: AsyncSession, actor: Principal, action: str, appt: Appointment, problem: Conflict) -> None:
    """Refused clerk actions are audited too (in their own transaction), then raised."""
    if not actor.is_couple:
        target_id, office_id = appt.id, appt.office_id  # read before the rollback expires them
        await session.rollback()
        record(session, actor, action, target_type="appointment", target_id=target_id, office_id=office_id,
               outcome=f"refused:{problem.code}")
        await session.commit()
    raise problem


async def find_by_code(session: AsyncSession, principal: Principal, office_id: int, code: str) -> uuid.UUID:
    principal.require_office(office_id)
    found = (await session.execute(select(Appointment.id).where(
        Appointment.code == normalise_code(code), Appointment.office_id == office_id))).scalar_one_or_none()
    if found is None:
        raise NotFound()
    return found


async def check_in(rt: Runtime, session: AsyncSession, principal: Principal, appointment_id: uuid.UUID) -> dict[str, Any]:
    """Check a couple in on the day of their appointment."""
    now = rt.clock.now()
    appt = await _staff_load(session, principal, appointment_id)
    office = await _office(rt, appt.office_id, session)
    if appt.status != "confirmed":
        await _refuse(session, principal, "appointment.check_in", appt, InvalidTransition())
    if appt.starts_at.astimezone(office.tz).date() != now.astimezone(office.tz).date():
        await _refuse(session, principal, "appointment.check_in", appt, InvalidTransition(
            lazy("Couples check in on the day of their appointment.")))
    appt.status = "checked_in"
    appt.checked_in_at = now
    appt.updated_at = now
    await cancel_pending(session, "appointment", appt.id, kinds=(REMINDER,))
    record(session, principal, "appointment.check_in", target_type="appointment", target_id=appt.id,
           office_id=appt.office_id, at=now)
    await session.commit()
    return appointment_out(appt, await _parties(session, appt.id), office)


async def complete(rt: Runtime, session: AsyncSession, principal: Principal, appointment_id: uuid.UUID) -> dict[str, Any]:
    now = rt.clock.now()
    appt = await _staff_load(session, principal, appointment_id)
    office = await _office(rt, appt.office_id, session)
    if appt.status != "checked_in":
        await _refuse(session, principal, "appointment.complete", appt, InvalidTransition())
    appt.status = "completed"
    appt.completed_at = now
    appt.updated_at = now
    await _deactivate_parties(session, appt)
    record(session, principal, "appointment.complete", target_type="appointment", target_id=appt.id,
           office_id=appt.office_id, at=now)
    await session.commit()
    return appointment_out(appt, await _parties(session, appt.id), office)


async def mark_no_show(rt: Runtime, session: AsyncSession, principal: Principal,
                       appointment_id: uuid.UUID) -> dict[str, Any]:
    now = rt.clock.now()
    appt = await _staff_load(session, principal, appointment_id)
    office = await _office(rt, appt.office_id, session)
    if appt.status != "confirmed":
        await _refuse(session, principal, "appointment.no_show", appt, InvalidTransition())
    if now < appt.starts_at:
        await _refuse(session, principal, "appointment.no_show", appt, InvalidTransition(
            lazy("An appointment can be marked missed only after it has started.")))
    await _to_no_show(session, appt, now)
    record(session, principal, "appointment.no_show", target_type="appointment", target_id=appt.id,
           office_id=appt.office_id, at=now)
    await session.commit()
    return appointment_out(appt, await _parties(session, appt.id), office)


async def _to_no_show(session: AsyncSession, appt: Appointment, now: datetime) -> None:
    appt.status = "no_show"
    appt.updated_at = now
    await _deactivate_parties(session, appt)
    await cancel_pending(session, "appointment", appt.id, kinds=(REMINDER,))


async def _staff_load(session: AsyncSession, principal: Principal, appointment_id: uuid.UUID) -> Appointment:
    appt = await _load(session, appointment_id, lock=True)
    if appt is None or principal.is_couple or not principal.manages_office(appt.office_id):
        raise NotFound()
    return appt


async def sweep_no_shows(rt: Runtime) -> int:
    """Appointments still unchecked an hour after their slot ended become no-shows."""
    now = rt.clock.now()
    async with rt.db.session() as session:
        overdue = (await session.execute(
            select(Appointment).where(Appointment.status == "confirmed",
                                      Appointment.ends_at < now - NO_SHOW_GRACE)
            .order_by(Appointment.ends_at).limit(500).with_for_update(skip_locked=True))).scalars().all()
        for appt in overdue:
            await _to_no_show(session, appt, now)
            record(session, SYSTEM, "appointment.no_show", target_type="appointment", target_id=appt.id,
                   office_id=appt.office_id, at=now, automatic=True)
        await session.commit()
        return len(overdue)


async def roster(rt: Runtime, session: AsyncSession, principal: Principal, office_id: int,
                 day: date) -> tuple[list[RosterEntry], dict[str, int]]:
    principal.require_office(office_id)
    office = await _office(rt, office_id, session)
    start = datetime.combine(day, time(0), tzinfo=office.tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=office.tz).astimezone(UTC)
    appts = list((await session.execute(
        select(Appointment).where(Appointment.office_id == office_id, Appointment.starts_at >= start,
                                  Appointment.starts_at < end)
        .order_by(Appointment.starts_at, Appointment.created_at))).scalars().all())
    parties_by: dict[uuid.UUID, list[PartyOut]] = {}
    if appts:
        rows = await session.execute(select(AppointmentParty).where(
            AppointmentParty.appointment_id.in_([a.id for a in appts])).order_by(AppointmentParty.position))  # type: ignore[attr-defined]
        for p in rows.scalars():
            parties_by.setdefault(p.appointment_id, []).append(PartyOut(**party_body(p)))
    entries = [RosterEntry(id=a.id, code=a.code, status=a.status, service=a.service, slot_id=a.slot_id,
                           starts_at=a.starts_at.astimezone(office.tz), ends_at=a.ends_at.astimezone(office.tz),
                           channel=a.channel, parties=parties_by.get(a.id, []), checked_in_at=a.checked_in_at)
               for a in appts]
    return entries, dict(Counter(a.status for a in appts))


async def reveal(rt: Runtime, session: AsyncSession, principal: Principal,
                 appointment_id: uuid.UUID) -> list[PartyRevealed]:
    """The full ID numbers and phones, for a clerk of the office, written to the audit log."""
    appt = await _load(session, appointment_id)
    if appt is None or principal.is_couple or not principal.manages_office(appt.office_id):
        raise NotFound()
    parties = await _parties(session, appt.id)
    record(session, principal, "party.reveal", target_type="appointment", target_id=appt.id,
           office_id=appt.office_id, at=rt.clock.now(), positions=[p.position for p in parties])
    await session.commit()
    return [PartyRevealed(position=p.position, name=p.name, id_type=p.id_type,
                          id_number=rt.vault.decrypt(p.id_enc, context="party.id_number"),
                          phone=rt.vault.decrypt(p.phone_enc, context="party.phone")) for p in parties]


async def account_email(session: AsyncSession, account_id: uuid.UUID | None) -> tuple[str | None, str | None]:
    if account_id is None:
        return None, None
    account = await session.get(UserAccount, account_id)
    return (account.email, account.name) if account else (None, None)


__all__ = ["book", "cancel", "check_in", "complete", "display_code", "find_by_code", "get_appointment",
           "list_own", "mark_no_show", "reschedule", "reveal", "roster", "sweep_no_shows"]
