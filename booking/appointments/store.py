"""The write that consumes a seat: the hottest path of the service (DESIGN.md 4 and 8).

Everything a booking writes commits together or not at all: the idempotency record, the
account's real-name binding (an online booking names the account holder as a party: the
account is bound to that person's ID hash at its first booking and books for them only),
the seat (``booked = booked + 1 WHERE booked < capacity``), the appointment (a partial
unique index: one active booking per account and service), its two parties (whose partial
unique index refuses a person's second active booking), the cross-province application
when the policy routes the couple to pre-review (its seat is this held seat) and the
outbox rows of what happened (the confirmation); the reminders are not rows: the
appointment carries the moment of its first one (``remind_at``), and the sweep derives
them when due (booking.appointments.services.reminders).

``PgBookingStore`` does it in one statement on the raw asyncpg connection: data-modifying
CTEs chained so that each runs only if the previous one wrote, and ``booking_fail()``
(a migration's PL/pgSQL helper) aborts the statement, and so everything in it, when no
seat was taken. ``SqlBookingStore`` does the same steps through SQLAlchemy in one
transaction; it serves SQLite (the embedded default) and is exercised on PostgreSQL by
the same concurrency tests.

A closed slot refuses inside the write: ``status = 'open'`` is part of the seat's
conditional UPDATE. A closure locks its day's slots (in id order) and closes them before
it cancels what stands on them, in one transaction. A booking that reaches a locked slot
waits; under READ COMMITTED PostgreSQL then re-checks the UPDATE's WHERE against the row
as the closure committed it, finds it closed and takes no seat, so nothing of the booking
is written; a booking that committed before the closure took its locks is seen, and
cancelled, by the closure's next statement. (Only the refusal's code is read from the
statement's snapshot, from before the closure: such a booking is told ``slot-full``
rather than ``slot-not-bookable``, both 409 with nothing written.)
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import msgspec
from sqlalchemy import and_, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.revocation import SessionClaims
from booking.appointments.services.hold import ApplicationDraft
from booking.appointments.services.noshow import banned_sql, bans
from booking.db.engine import Database, hot_statement
from booking.db.locking import Busy
from booking.db.models import (
    Appointment,
    AppointmentParty,
    AuditEntry,
    Ballot,
    CrossProvinceApplication,
    IdempotencyRecord,
    Slot,
    UserAccount,
    booked_party_values,
)
from booking.db.statements import PARTIES_UNNEST, arguments, json_text, numbered, party_arrays
from booking.db.unique import flush_or, flush_refusing
from booking.idempotency import IdempotencyClaim
from booking.notifications.outbox import OutboxRow, add_rows
from booking.offices.rules import NoShowPolicy
from booking.parties.services import PreparedParty

# --- what the service hands to the store, and what can go wrong -----------------------


@dataclass(slots=True)
class BookingDraft:
    appointment_id: uuid.UUID
    code: str
    office_id: int
    slot_id: int
    service: str
    account_id: uuid.UUID | None
    booked_by: uuid.UUID
    channel: str
    status: str
    starts_at: datetime
    ends_at: datetime
    locale: str
    review_reason: str | None
    parties: list[PreparedParty]
    outbox: list[OutboxRow]
    response: Any  # the answer (an Answer), stored with the idempotency key
    now: datetime
    # the office's no-show policy, checked inside the write
    no_show: NoShowPolicy
    claim: IdempotencyClaim | None = None
    # set when a clerk must pre-review: the application holding this seat
    application: ApplicationDraft | None = None
    # set when a clerk books for a walk-in couple: the booker's role, audited with the booking
    audit_role: str | None = None
    # an online booking: the ID hash of the party who holds the booking account (实名)
    holder_hash: str | None = None
    # a confirmed booking: the moment of its first reminder (reminders are derived when due)
    remind_at: datetime | None = None
    # an online booking whose account this process has not checked yet (no state cached):
    # the write checks it in the same statement (``PgBookingStore.checks_accounts``)
    account_check: SessionClaims | None = None


class SlotFull(Exception):
    """No seat was taken: the slot is full."""


class SlotClosed(Exception):
    """No seat was taken: the office closed the slot."""


class BallotPending(Exception):
    """No seat was taken: the slot's day is allotted by a ballot not drawn yet."""


class PartyBanned(Exception):
    """A party has too many recent no-shows under the office's policy."""


class PartyHoldsBooking(Exception):
    def __init__(self, id_hash: str | None) -> None:
        super().__init__("party holds an active booking")
        self.id_hash = id_hash


class HolderIsOther(Exception):
    """The account is bound to a person who is not the booking's holder party."""


class AccountHoldsBooking(Exception):
    """The account holds an active booking for this service already."""


class AccountRefused(Exception):
    """The account no longer allows the token (deactivated, moved, session ended): 401."""


class KeyTaken(Exception):
    """Another request with the same Idempotency-Key committed first."""


class CodeTaken(Exception):
    """The random booking code collided; draw another."""


# --- PostgreSQL: one round trip each ---------------------------------------------------

# Written with named parameters (``:name``); ``numbered`` turns them into asyncpg's $n once,
# at import, and ``arguments`` fills them by name.
_PG_BOOK_NAMED = """
WITH idem AS (
    INSERT INTO idempotency_record (owner_id, key, scope, request_hash, status_code, response, created_at)
    SELECT :owner_id::uuid, :key::text, :scope::text, :request_hash::text, 201, :response::json, :now::timestamptz
    WHERE :key::text IS NOT NULL
    RETURNING 1
), banned AS (""" + banned_sql(":p_id_hash::text[]", ":now::timestamptz", ":ban_limit::int", ":ban_window_days::int",
                               ":ban_days::int") + """
), gate AS (
    -- the account still allows the token (booking.accounts.revocation), when the caller has
    -- left that check to this statement: one round trip instead of two in the release rush
    SELECT 1 WHERE :gate_token_id::text IS NULL
    UNION ALL
    SELECT 1 FROM user_account a
    WHERE :gate_token_id::text IS NOT NULL AND a.id = :gate_account_id::uuid AND a.is_active
      AND a.role = :gate_role::text AND a.office_id IS NOT DISTINCT FROM :gate_office_id::int
      AND a.session_version = :gate_session_version::int
      AND NOT EXISTS (SELECT 1 FROM revoked_token r WHERE r.jti = :gate_token_id::text)
), bind AS (
    -- an account's first booking binds it to its holder (written once, not on every booking)
    UPDATE user_account SET id_hash = :holder_hash::text
    WHERE id = :account_id::uuid AND :holder_hash::text IS NOT NULL AND id_hash IS NULL
    RETURNING 1
), holder AS (
    SELECT 1 FROM user_account WHERE id = :account_id::uuid AND id_hash = :holder_hash::text
    UNION ALL SELECT 1 FROM bind
), seat AS (
    UPDATE slot SET booked = booked + 1
    WHERE id = :slot_id::bigint AND booked < capacity AND status = 'open'
      AND (:key::text IS NULL OR EXISTS (SELECT 1 FROM idem))
      AND EXISTS (SELECT 1 FROM gate)
      AND (:holder_hash::text IS NULL OR EXISTS (SELECT 1 FROM holder))
      AND NOT EXISTS (SELECT 1 FROM banned)
      AND NOT EXISTS (SELECT 1 FROM ballot b WHERE b.office_id = slot.office_id AND b.service = slot.service
                      AND b.day = slot.local_date AND b.state = 'open')
    RETURNING id, office_id, capacity - booked AS seats_left
), appt AS (
    INSERT INTO appointment (id, code, office_id, slot_id, service, account_id, booked_by, channel, status,
                             starts_at, ends_at, locale, sequence, review_reason, remind_at, created_at, updated_at)
    SELECT :appointment_id::uuid, :code::text, seat.office_id, seat.id, :service::text, :account_id::uuid,
           :booked_by::uuid, :channel::text, :status::text, :starts_at::timestamptz, :ends_at::timestamptz,
           :locale::text, 0, :review_reason::text, :remind_at::timestamptz, :now::timestamptz, :now::timestamptz
    FROM seat
    RETURNING id
), parties AS (
    INSERT INTO appointment_party (id, appointment_id, position, name, id_type, id_hash, id_enc, id_masked,
                                   phone_enc, phone_hash, phone_masked, facts_enc, hukou_province,
                                   service, active)
    SELECT p.id, appt.id, p.position, p.name, p.id_type, p.id_hash, p.id_enc, p.id_masked, p.phone_enc,
           p.phone_hash, p.phone_masked, p.facts_enc, p.hukou_province, :service::text, true
    FROM appt, """ + PARTIES_UNNEST + """
    RETURNING 1
), application AS (
    INSERT INTO cross_province_application (id, appointment_id, office_id, account_id, service, status, route,
                                            policy_period_id, documents_required, answers, hold_expires_at,
                                            version, history, created_at, updated_at)
    SELECT :a_id::uuid, appt.id, :office_id::int, :account_id::uuid, :service::text, 'submitted', :a_route::text,
           :a_policy_period_id::int, :a_documents_required::json, :a_answers::json,
           :a_hold_expires_at::timestamptz, 0, :a_history::json, :now::timestamptz, :now::timestamptz
    FROM appt WHERE :a_id::uuid IS NOT NULL
    RETURNING 1
), outbox AS (
    INSERT INTO notification (id, kind, channel, account_id, party_id, locale, subject_type, subject_id,
                              sequence, due_at, not_after, state, next_attempt_at, attempts, payload, created_at)
    SELECT n.id, n.kind, n.channel, n.account_id, n.party_id, n.locale, n.subject_type, n.subject_id, 0,
           n.due_at, n.not_after, 'pending', n.due_at, 0, n.payload::json, :now::timestamptz
    FROM appt, unnest(:o_id::uuid[], :o_kind::text[], :o_channel::text[], :o_account_id::uuid[],
                      :o_party_id::uuid[], :o_locale::text[], :o_due_at::timestamptz[],
                      :o_not_after::timestamptz[], :o_payload::text[], :o_subject_type::text[],
                      :o_subject_id::uuid[])
         AS n(id, kind, channel, account_id, party_id, locale, due_at, not_after, payload, subject_type,
              subject_id)
    RETURNING 1
), audit AS (
    INSERT INTO audit_entry (at, actor_id, actor_role, office_id, action, target_type, target_id, outcome, detail)
    SELECT :now::timestamptz, :booked_by::uuid, :audit_role::text, :office_id::int, 'appointment.book_counter',
           'appointment', appt.id::text, 'ok', json_build_object('slot_id', :slot_id::bigint)
    FROM appt WHERE :audit_role::text IS NOT NULL
    RETURNING 1
)
SELECT CASE WHEN EXISTS (SELECT 1 FROM seat) THEN (SELECT seats_left FROM seat)
            WHEN NOT EXISTS (SELECT 1 FROM gate) THEN booking_fail('account_refused')
            WHEN :holder_hash::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM holder)
                THEN booking_fail('holder_mismatch')
            WHEN EXISTS (SELECT 1 FROM banned) THEN booking_fail('no_show_ban')
            WHEN EXISTS (SELECT 1 FROM slot s JOIN ballot b ON b.office_id = s.office_id AND b.service = s.service
                         AND b.day = s.local_date AND b.state = 'open' WHERE s.id = :slot_id::bigint)
                THEN booking_fail('ballot_pending')
            WHEN EXISTS (SELECT 1 FROM slot WHERE id = :slot_id::bigint AND status <> 'open')
                THEN booking_fail('slot_closed')
            ELSE booking_fail('slot_full') END
"""

_PG_BOOK, _PG_BOOK_PARAMETERS = numbered(_PG_BOOK_NAMED)
hot_statement(_PG_BOOK)

_HASH_IN_DETAIL = re.compile(r"=\(([0-9a-f]{64}),")


def _book_values(d: BookingDraft) -> dict[str, Any]:
    """The statement's parameters, by name."""
    c = d.claim
    p = d.parties
    o = d.outbox
    a = d.application
    g = d.account_check
    return {
        "owner_id": c.owner_id if c else d.booked_by, "key": c.key if c else None, "scope": c.scope if c else None,
        "request_hash": c.request_hash if c else None, "response": json_text(d.response), "now": d.now,
        "slot_id": d.slot_id, "appointment_id": d.appointment_id, "code": d.code, "office_id": d.office_id,
        "service": d.service, "account_id": d.account_id, "booked_by": d.booked_by, "channel": d.channel,
        "status": d.status, "starts_at": d.starts_at, "ends_at": d.ends_at, "locale": d.locale,
        "review_reason": d.review_reason, "remind_at": d.remind_at,
        **party_arrays(p),
        "o_id": [r.id for r in o], "o_kind": [r.kind for r in o], "o_channel": [r.channel for r in o],
        "o_account_id": [r.account_id for r in o], "o_party_id": [r.party_id for r in o],
        "o_locale": [r.locale for r in o], "o_due_at": [r.due_at for r in o],
        "o_not_after": [r.not_after for r in o], "o_payload": [json_text(r.payload) for r in o],
        "o_subject_type": [r.subject_type for r in o], "o_subject_id": [r.subject_id for r in o],
        "ban_window_days": d.no_show.window_days, "ban_limit": d.no_show.limit, "ban_days": d.no_show.ban_days,
        "a_id": a.id if a else None, "a_route": a.route if a else None,
        "a_policy_period_id": a.policy_period_id if a else None,
        "a_documents_required": json_text(a.documents_required) if a else None,
        "a_answers": json_text(a.answers) if a else None, "a_hold_expires_at": a.hold_expires_at if a else None,
        "a_history": json_text(a.history) if a else None,
        "audit_role": d.audit_role, "holder_hash": d.holder_hash,
        "gate_token_id": g.token_id if g else None, "gate_account_id": g.account_id if g else None,
        "gate_role": g.role if g else None, "gate_office_id": g.office_id if g else None,
        "gate_session_version": g.session_version if g else None,
    }


class PgBookingStore:
    # the statement checks an unchecked account itself (``BookingDraft.account_check``)
    checks_accounts = True

    def __init__(self, db: Database) -> None:
        self._db = db

    async def book(self, draft: BookingDraft) -> int:
        """Book; returns the seats the slot has left after this one."""
        try:
            async with self._db.raw() as conn:
                return int(await conn.fetchval(_PG_BOOK, *arguments(_PG_BOOK_PARAMETERS, _book_values(draft))))
        except asyncpg.exceptions.RaiseError as exc:
            if "slot_full" in str(exc):
                raise SlotFull() from exc
            if "account_refused" in str(exc):
                raise AccountRefused() from exc
            if "slot_closed" in str(exc):
                raise SlotClosed() from exc
            if "no_show_ban" in str(exc):
                raise PartyBanned() from exc
            if "holder_mismatch" in str(exc):
                raise HolderIsOther() from exc
            if "ballot_pending" in str(exc):
                raise BallotPending() from exc
            raise
        except asyncpg.exceptions.LockNotAvailableError as exc:
            # the slot stayed locked past the pool's lock_timeout (e.g. by a closure of its day)
            raise Busy() from exc
        except asyncpg.exceptions.UniqueViolationError as exc:
            constraint = exc.constraint_name or ""
            if constraint in ("uq_appointment_party_active", "uq_person_active_claim"):
                match = _HASH_IN_DETAIL.search(exc.detail or "")
                raise PartyHoldsBooking(match.group(1) if match else None) from exc
            if constraint == "idempotency_record_pkey":
                raise KeyTaken() from exc
            if constraint == "appointment_code_key":
                raise CodeTaken() from exc
            if constraint == "uq_appointment_account_active":
                raise AccountHoldsBooking() from exc
            raise


# --- portable: SQLAlchemy in one transaction --------------------------------------------


class SqlBookingStore:
    # the caller checks the account first (one more query on the embedded default)
    checks_accounts = False

    def __init__(self, db: Database) -> None:
        self._db = db

    async def book(self, d: BookingDraft) -> int:
        async with self._db.session() as session:
            if d.claim is not None:
                c = d.claim
                session.add(IdempotencyRecord(owner_id=c.owner_id, key=c.key, scope=c.scope,
                                              request_hash=c.request_hash, status_code=201,
                                              response=msgspec.to_builtins(d.response),
                                              created_at=d.now))
                await flush_or(session, KeyTaken())
            if d.holder_hash is not None and not await bind_holder(session, d.account_id, d.holder_hash):
                await session.rollback()
                raise HolderIsOther()
            if await bans(session, [p.id_hash for p in d.parties], d.no_show, d.now):
                await session.rollback()
                raise PartyBanned()
            if (await session.execute(select(ballot_pending(Slot)).where(Slot.id == d.slot_id))).scalar():
                await session.rollback()
                raise BallotPending()
            seat = await session.execute(
                update(Slot)
                .where(Slot.id == d.slot_id, Slot.booked < Slot.capacity, Slot.status == "open")
                .values(booked=Slot.booked + 1)
                .returning(Slot.capacity - Slot.booked)
            )
            taken = seat.first()
            if taken is None:
                status = (await session.execute(select(Slot.status).where(Slot.id == d.slot_id))).scalar()
                await session.rollback()
                raise SlotClosed() if status != "open" else SlotFull()
            session.add(Appointment(
                id=d.appointment_id, code=d.code, office_id=d.office_id, slot_id=d.slot_id, service=d.service,
                account_id=d.account_id, booked_by=d.booked_by, channel=d.channel, status=d.status,
                starts_at=d.starts_at, ends_at=d.ends_at, locale=d.locale, sequence=0,
                review_reason=d.review_reason, remind_at=d.remind_at, created_at=d.now, updated_at=d.now))
            await flush_refusing(session, {("uq_appointment_account_active", "appointment.account_id"):
                                           AccountHoldsBooking(), ("appointment_code_key", "appointment.code"): CodeTaken()})
            for p in d.parties:
                session.add(AppointmentParty(id=p.id, appointment_id=d.appointment_id, service=d.service, active=True,
                                             **booked_party_values(p)))
            try:
                await session.flush()
            except IntegrityError as exc:
                await session.rollback()
                raise PartyHoldsBooking(await self._holder(d)) from exc
            if d.application is not None:
                a = d.application
                session.add(CrossProvinceApplication(
                    id=a.id, appointment_id=d.appointment_id, office_id=d.office_id, account_id=d.account_id,
                    service=d.service, status="submitted", route=a.route, policy_period_id=a.policy_period_id,
                    documents_required=a.documents_required, answers=a.answers,
                    hold_expires_at=a.hold_expires_at, version=0, history=a.history, created_at=d.now,
                    updated_at=d.now))
            await add_rows(session, d.outbox, d.now)
            if d.audit_role is not None:
                session.add(AuditEntry(at=d.now, actor_id=d.booked_by, actor_role=d.audit_role,
                                       office_id=d.office_id, action="appointment.book_counter",
                                       target_type="appointment", target_id=str(d.appointment_id),
                                       detail={"slot_id": d.slot_id}))
            await session.commit()
            return int(taken[0])

    async def _holder(self, d: BookingDraft) -> str | None:
        async with self._db.session() as session:
            found = await session.execute(
                select(AppointmentParty.id_hash).where(
                    and_(AppointmentParty.id_hash.in_([p.id_hash for p in d.parties]),  # type: ignore[attr-defined]
                         AppointmentParty.service == d.service, AppointmentParty.active.is_(True)))  # type: ignore[attr-defined]
            )
            return found.scalars().first()


async def bind_holder(session: AsyncSession, account_id: uuid.UUID | None, holder_hash: str) -> bool:
    """实名: bind the account to the holder at its first booking; else it must be bound to
    them (the portable store's step, and a divorce's two parties')."""
    bound = await session.execute(update(UserAccount).where(UserAccount.id == account_id,
                                                            UserAccount.id_hash.is_(None))  # type: ignore[union-attr]
                                  .values(id_hash=holder_hash))
    if bound.rowcount:  # type: ignore[attr-defined]
        return True
    current = (await session.execute(select(UserAccount.id_hash).where(UserAccount.id == account_id))).scalar()
    return current == holder_hash


# --- reads for the cold paths (explaining a refusal) --------------------------------------


def ballot_pending(slot: Any) -> Any:
    """True when ``slot``'s day is allotted by a ballot of its office and service that has
    not been drawn: no booking, walk-in or move may take its seats before the draw (the
    single-statement write has the same test in SQL)."""
    return exists().where(Ballot.office_id == slot.office_id, Ballot.service == slot.service,
                          Ballot.day == slot.local_date, Ballot.state == "open")


def booking_store(db: Database) -> PgBookingStore | SqlBookingStore:
    return PgBookingStore(db) if db.is_postgres else SqlBookingStore(db)


__all__ = [
    "BallotPending",
    "BookingDraft",
    "AccountHoldsBooking",
    "CodeTaken",
    "HolderIsOther",
    "KeyTaken",
    "PartyHoldsBooking",
    "PartyBanned",
    "PgBookingStore",
    "SlotClosed",
    "SlotFull",
    "SqlBookingStore",
    "booking_store",
]
