"""Booking: validate everything first (parties, slot, office rules, the jurisdiction policy),
then one write that takes the seat and records everything else (``store.py``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.accounts.revocation import SessionClaims
from booking.appointments.problems import (
    AccountAlreadyBooked,
    HolderMismatch,
    NoShowBan,
    PartyAlreadyBooked,
    PartyUnavailable,
    SlotFullProblem,
    SlotNotBookable,
)
from booking.appointments.schemas import AppointmentCreate, AppointmentOut
from booking.appointments.services.hold import (
    APPLICATION_SCOPE,
    PrereviewNotRequired,
    ReviewRequest,
    new_application,
    received_rows,
)
from booking.appointments.services.noshow import bans
from booking.appointments.services.placement import Party, check_placement
from booking.appointments.services.reminders import first_reminder, recipients
from booking.appointments.store import (
    AccountHoldsBooking,
    AccountRefused,
    BallotPending,
    BookingDraft,
    CodeTaken,
    HolderIsOther,
    KeyTaken,
    PartyBanned,
    PartyHoldsBooking,
    SlotClosed,
    SlotFull,
)
from booking.errors import Conflict, Problem, Unauthorized, invalid
from booking.i18n import lazy
from booking.idempotency import IdempotencyClaim, Replayed
from booking.jurisdiction.policy import UNANSWERED, PartyHome
from booking.kernel.codes import new_code
from booking.notifications.outbox import messages
from booking.observability.tracing import span
from booking.offices.directory import OfficeInfo
from booking.parties.schemas import PartyOut
from booking.parties.services import PreparedParty, prepare_parties
from booking.runtime import Runtime
from booking.schemas import Answer

CREATE_SCOPE = "appointment.create"
# the write's refusals: outcomes of a booking, not errors, in a trace
WRITE_REFUSALS = (SlotFull, SlotClosed, BallotPending, PartyBanned, PartyHoldsBooking, KeyTaken, CodeTaken,
                  AccountRefused)


async def book(rt: Runtime, principal: Principal, data: AppointmentCreate, *, key: str | None, locale: str,
               counter_office: int | None = None, review: ReviewRequest | None = None,
               account_check: SessionClaims | None = None) -> tuple[int, Answer | Replayed]:
    """Book a slot for two parties; returns (status code, body). ``counter_office`` is set
    when a clerk books for a walk-in couple at their own office; ``review`` when the couple
    applies through the cross-province endpoint (the body is then the application).

    Whenever the policy routes the couple to pre-review, from either endpoint, the same
    write opens the application that holds the seat (``hold.py``). A walk-in is exempt from
    the online cut-off; every other rule is the same (``placement.py``). ``account_check``:
    the caller's account, not checked yet, for the write to check (401 when it does not
    allow the token).

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
    claim = IdempotencyClaim.of(rt, principal.id, key, scope, body)
    try:
        return await _book(rt, principal, data, locale, counter_office, now, claim, review, account_check)
    except Problem:
        # A retry of a request that succeeded gets the first answer, even if the slot has
        # filled up or closed since.
        if claim is not None and (answer := await claim.stored_answer(rt.db)) is not None:
            return answer
        raise


async def _book(rt: Runtime, principal: Principal, data: AppointmentCreate, locale: str, counter_office: int | None,
                now: datetime, claim: IdempotencyClaim | None, review: ReviewRequest | None,
                account_check: SessionClaims | None) -> tuple[int, Answer | Replayed]:
    sold_out = rt.sold_out
    if sold_out.is_full(data.slot_id):
        # the database said "full" a moment ago: refused without asking it again (a retried
        # request that had succeeded still gets its first answer, from ``book``)
        raise SlotFullProblem()
    with span("booking.validate"):
        parties = prepare_parties(rt.vault, data.parties, now.astimezone(UTC).date())
        slot = await rt.slot_facts.get(data.slot_id)
        office = await rt.offices.get(slot.office_id) if slot is not None else None
        if (slot is None or office is None
                or (counter_office is not None and slot.office_id != counter_office)):
            raise invalid("slot_id", lazy("No such slot."))
        # The policy periods come from the in-process cache: no round trip on this path.
        placed = [Party(p.facts, PartyHome(p.hukou_province, p.id_type)) for p in parties]
        verdict = check_placement(office, slot, data.service, placed, now, await rt.policy.periods(),
                                  counter=counter_office is not None,
                                  residence_permit=review.residence_permit if review is not None else UNANSWERED)
        if review is not None and not verdict.prereview:
            raise PrereviewNotRequired()

    status = "pending_review" if verdict.prereview else "confirmed"
    appointment_id = uuid.uuid4()
    account_id = principal.id if counter_office is None else None
    notice_locale = data.locale or locale
    who = recipients(account_id, parties)
    application = None
    remind_at = None
    if status == "confirmed":
        # the reminders are derived when due (booking.appointments.services.reminders): only the moment
        outbox = messages("appointment.confirmed", "appointment", appointment_id, 0, who, notice_locale, now)
        remind_at = first_reminder(slot.starts_at, office, now)
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
        response=None, now=now, no_show=policy, remind_at=remind_at,
        claim=claim,
        application=application,
        # a walk-in is a clerk's action: its audit entry commits with the booking
        audit_role=principal.role if counter_office is not None else None,
        # 实名: online, the account books for its holder (walk-ins are the clerk's, exempt)
        holder_hash=parties[data.holder - 1].id_hash if counter_office is None else None,
        account_check=account_check,
    )
    party_outs = [PartyOut.of(p) for p in parties]
    for _attempt in range(5):
        draft.response = AppointmentOut.of(
            id=appointment_id, code=draft.code, status=status, office=office, service=data.service,
            slot_id=slot.id, starts_at=slot.starts_at, ends_at=slot.ends_at, channel=channel, sequence=0,
            review_reason=review_reason, parties=party_outs, created_at=now,
            application_id=application.id if application else None)
        if review is not None and application is not None:
            draft.response = review.respond(application, office, draft.response, notice_locale)
        try:
            with span("booking.write", expected=WRITE_REFUSALS):
                seats_left = await rt.booking_store.book(draft)
            if seats_left <= 0:
                # this booking took the last seat: the rush's next requests for the slot are
                # refused from memory without a statement each to learn it
                sold_out.saw_full(slot.id)
            if account_check is not None:
                rt.account_gate.admitted(account_check)
            return 201, draft.response
        except CodeTaken:
            draft.code = new_code()
        except KeyTaken:
            answer = await claim.stored_answer(rt.db) if claim is not None else None
            if answer is None:  # the other request rolled back after all: try again
                continue
            return answer
        except SlotFull:
            sold_out.saw_full(slot.id)
            raise SlotFullProblem() from None
        except AccountRefused:
            raise Unauthorized() from None
        except SlotClosed:
            raise SlotNotBookable(lazy("The office has closed this slot.")) from None
        except BallotPending:
            raise SlotNotBookable(lazy("This day's seats are allotted by a ballot; booking opens after its draw.")
                                  ) from None
        except PartyBanned:
            raise await _ban_problem(rt, office, parties, now, draft.holder_hash) from None
        except PartyHoldsBooking as exc:
            position = next((p.position for p in parties if p.id_hash == exc.id_hash), None)
            if draft.holder_hash is not None and exc.id_hash != draft.holder_hash:
                raise PartyUnavailable(party=position) from None
            raise PartyAlreadyBooked(party=position) from None
        except HolderIsOther:
            raise HolderMismatch() from None
        except AccountHoldsBooking:
            raise AccountAlreadyBooked() from None
    raise RuntimeError("could not draw a free booking code")  # pragma: no cover - 31**8 codes


async def _ban_problem(rt: Runtime, office: OfficeInfo, parties: list[PreparedParty], now: datetime,
                       holder_hash: str | None) -> Conflict:
    """The ban of a party: told in full for the account holder (or to a clerk at the
    counter), without its end for the other party of an online booking."""
    async with rt.db.session() as session:
        ban = await no_show_ban(session, office, parties, now, holder_hash)
    return ban or SlotFullProblem()  # the ban ended between the write and this read: a plain retry will do


async def no_show_ban(session: AsyncSession, office: OfficeInfo, parties: list[PreparedParty],
                      now: datetime, holder_hash: str | None = None) -> Conflict | None:
    """The office's no-show ban on a party, as the refusal a couple sees (a booking's, and a
    ballot entry's); None when nobody is banned. With ``holder_hash`` (an online booking),
    the other party's ban is not told, only that they cannot be booked."""
    ends = await bans(session, [p.id_hash for p in parties], office.rules.no_show, now)
    for party in parties:
        if party.id_hash in ends and holder_hash is not None and party.id_hash != holder_hash:
            return PartyUnavailable(party=party.position)
        if party.id_hash in ends:
            ends_on = ends[party.id_hash].astimezone(office.tz).date().isoformat()
            return NoShowBan(lazy("Party {position} can book again from {date}.", position=party.position,
                                  date=ends_on), party=party.position, ban_ends_on=ends_on)
    return None
