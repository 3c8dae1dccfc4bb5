"""The sign-up write on PostgreSQL: one statement, as the booking's (``appointments/store.py``).

The event row is locked by the statement's first CTE (``FOR UPDATE``: after waiting for a
concurrent sign-up it sees that one's counters), which decides in the same breath whether
the couple takes a place (a place free, their guests fit, nobody waiting ahead unless the
event lets fitting couples pass: ``capacity._fits``) or joins the waitlist; one UPDATE then
moves the matching counters and draws the arrival ticket. The sign-up, its two parties
(whose partial unique index refuses a person's second active sign-up for the event), the
outbox rows of the outcome and the Idempotency-Key's answer are inserted by the same
statement, so the event row is locked for one round trip, not for a transaction of many.

The key is inserted last, with the answer the statement decided: a concurrent duplicate
queues on the event row first, then finds the key taken and its whole statement (counters
included) undone; the caller replays the stored answer.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg
from sqlalchemy import JSON

from booking.db.engine import Database, hot_statement
from booking.db.models import Event
from booking.db.statements import PARTIES_UNNEST, arguments, json_text, numbered, party_arrays
from booking.idempotency import IdempotencyClaim
from booking.notifications.outbox import OutboxRow
from booking.parties.services import PreparedParty

_SIGN_UP_NAMED = """
WITH ev AS (
    SELECT id, requires_approval,
           (places_taken < capacity AND guest_seats_taken + :guests::int <= guest_seats
            AND (waitlisted = 0 OR waitlist_skip_unfit)) AS fits
    FROM event WHERE id = :event_id::uuid AND status = 'published'
    FOR UPDATE
), claim AS (
    UPDATE event SET
        places_taken = event.places_taken + CASE WHEN ev.fits THEN 1 ELSE 0 END,
        guest_seats_taken = event.guest_seats_taken + CASE WHEN ev.fits THEN :guests::int ELSE 0 END,
        waitlisted = event.waitlisted + CASE WHEN ev.fits THEN 0 ELSE 1 END,
        arrivals = event.arrivals + 1
    FROM ev WHERE event.id = ev.id
    RETURNING event.arrivals AS arrival_no,
              CASE WHEN ev.fits THEN NULL ELSE event.waitlisted END AS position,
              CASE WHEN NOT ev.fits THEN 'waitlisted' WHEN ev.requires_approval THEN 'pending_approval'
                   ELSE 'confirmed' END AS status
), signup_row AS (
    INSERT INTO signup (id, event_id, office_id, code, account_id, status, arrival_no, guests, marriage_date,
                        eligible_by, pledge_amount_fen, pledge_cause, sponsor_name, contact_name,
                        contact_phone_enc, contact_phone_hash, contact_phone_masked, locale, sequence,
                        created_at, updated_at)
    SELECT :signup_id::uuid, :event_id::uuid, :office_id::int, :code::text, :account_id::uuid, claim.status,
           claim.arrival_no, :guests::int, :marriage_date::date, :eligible_by::text, :pledge_amount_fen::bigint,
           :pledge_cause::text, :sponsor_name::text, :contact_name::text, :contact_phone_enc::text,
           :contact_phone_hash::text, :contact_phone_masked::text, :locale::text, 0, :now::timestamptz,
           :now::timestamptz
    FROM claim
    RETURNING id
), parties AS (
    INSERT INTO signup_party (id, signup_id, event_id, position, name, id_type, id_hash, id_enc, id_masked,
                              phone_enc, phone_hash, phone_masked, facts_enc, hukou_province, active)
    SELECT p.id, signup_row.id, :event_id::uuid, p.position, p.name, p.id_type, p.id_hash, p.id_enc,
           p.id_masked, p.phone_enc, p.phone_hash, p.phone_masked, p.facts_enc, p.hukou_province, true
    FROM signup_row, """ + PARTIES_UNNEST + """
    RETURNING 1
), outbox AS (
    -- the rows of all three outcomes come in; only those of the outcome decided above are written
    INSERT INTO notification (id, kind, channel, account_id, party_id, locale, subject_type, subject_id,
                              sequence, due_at, not_after, state, next_attempt_at, attempts, payload, created_at)
    SELECT n.id, n.kind, n.channel, n.account_id, n.party_id, n.locale, 'signup', :signup_id::uuid, n.sequence,
           n.due_at, n.not_after, 'pending', n.due_at, 0,
           CASE WHEN claim.position IS NULL THEN n.payload::json
                ELSE (n.payload::jsonb || jsonb_build_object('position', claim.position))::json END,
           :now::timestamptz
    FROM claim, signup_row, unnest(:o_outcome::text[], :o_id::uuid[], :o_kind::text[], :o_channel::text[],
                                   :o_account_id::uuid[], :o_party_id::uuid[], :o_locale::text[],
                                   :o_sequence::int[], :o_due_at::timestamptz[], :o_not_after::timestamptz[],
                                   :o_payload::text[])
         AS n(outcome, id, kind, channel, account_id, party_id, locale, sequence, due_at, not_after, payload)
    WHERE n.outcome = claim.status
    RETURNING 1
), idem AS (
    INSERT INTO idempotency_record (owner_id, key, scope, request_hash, status_code, response, created_at)
    SELECT :owner_id::uuid, :key::text, :scope::text, :request_hash::text, 201,
           -- the answer's text with the decided values in place of its markers (in the key order
           -- the first answer had: a replay is the same text)
           replace(replace(replace(:response::text, :mark_status::text, to_json(claim.status)::text),
                           :mark_arrival::text, claim.arrival_no::text),
                   :mark_position::text, coalesce(claim.position::text, 'null'))::json,
           :now::timestamptz
    FROM claim, signup_row WHERE :key::text IS NOT NULL
    RETURNING 1
)
SELECT claim.status, claim.arrival_no, claim.position,
       (SELECT count(*) FROM parties) + (SELECT count(*) FROM outbox) + (SELECT count(*) FROM idem) AS written
FROM claim
"""

_SIGN_UP, _SIGN_UP_PARAMETERS = numbered(_SIGN_UP_NAMED)
hot_statement(_SIGN_UP)

@dataclass(slots=True)
class SignupDraft:
    signup_id: uuid.UUID
    event_id: uuid.UUID
    office_id: int
    code: str
    account_id: uuid.UUID
    guests: int
    marriage_date: date | None
    eligible_by: str | None
    pledge_amount_fen: int | None
    pledge_cause: str | None
    sponsor_name: str | None
    contact: tuple[str, str, str, str] | None  # name, phone encrypted, its hash, masked
    locale: str
    parties: list[PreparedParty]
    # the outbox rows of each outcome: confirmed, pending_approval, waitlisted
    outbox: dict[str, list[OutboxRow]]
    # the answer without what the write decides (status, arrival number, waitlist position)
    response: dict[str, Any]
    now: datetime
    claim: IdempotencyClaim | None = None


@dataclass(frozen=True, slots=True)
class Written:
    status: str
    arrival_no: int
    waitlist_position: int | None


class EventGone(Exception):
    """No row: the event is not published (any more)."""


class CodeTaken(Exception):
    """The random check-in code collided; draw another."""


class KeyTaken(Exception):
    """Another request with the same Idempotency-Key committed first."""


class PartyTaken(Exception):
    """A party is in an active sign-up of the event already."""


def _values(d: SignupDraft) -> dict[str, Any]:
    c, p, contact = d.claim, d.parties, d.contact
    rows = [(outcome, r) for outcome, rs in d.outbox.items() for r in rs]
    return {
        "event_id": d.event_id, "guests": d.guests, "signup_id": d.signup_id, "office_id": d.office_id,
        "code": d.code, "account_id": d.account_id, "marriage_date": d.marriage_date, "eligible_by": d.eligible_by,
        "pledge_amount_fen": d.pledge_amount_fen, "pledge_cause": d.pledge_cause, "sponsor_name": d.sponsor_name,
        "contact_name": contact[0] if contact else None, "contact_phone_enc": contact[1] if contact else None,
        "contact_phone_hash": contact[2] if contact else None,
        "contact_phone_masked": contact[3] if contact else None, "locale": d.locale, "now": d.now,
        **party_arrays(p),
        "o_outcome": [o for o, _ in rows], "o_id": [r.id for _, r in rows], "o_kind": [r.kind for _, r in rows],
        "o_channel": [r.channel for _, r in rows], "o_account_id": [r.account_id for _, r in rows],
        "o_party_id": [r.party_id for _, r in rows], "o_locale": [r.locale for _, r in rows],
        "o_sequence": [r.sequence for _, r in rows], "o_due_at": [r.due_at for _, r in rows],
        "o_not_after": [r.not_after for _, r in rows], "o_payload": [json_text(r.payload) for _, r in rows],
        "owner_id": c.owner_id if c else d.account_id, "key": c.key if c else None,
        "scope": c.scope if c else None, "request_hash": c.request_hash if c else None,
        **_response(d.response),
    }


def _response(response: dict[str, Any]) -> dict[str, str]:
    """The answer as JSON text with markers (quoted strings no request can contain: random)
    where the write fills in what it decides."""
    token = uuid.uuid4().hex
    marks = {name: f"@@{name}-{token}@@" for name in ("status", "arrival", "position")}
    text = json_text(dict(response, status=marks["status"], arrival_no=marks["arrival"],
                      waitlist_position=marks["position"]))
    return {"response": text, **{f"mark_{name}": f'"{mark}"' for name, mark in marks.items()}}


async def write_signup(db: Database, draft: SignupDraft) -> Written:
    try:
        async with db.raw() as conn:
            row = await conn.fetchrow(_SIGN_UP, *arguments(_SIGN_UP_PARAMETERS, _values(draft)))
    except asyncpg.exceptions.UniqueViolationError as exc:
        constraint = exc.constraint_name or ""
        if constraint == "uq_signup_party_active":
            raise PartyTaken() from exc
        if constraint == "idempotency_record_pkey":
            raise KeyTaken() from exc
        if constraint == "signup_code_key":
            raise CodeTaken() from exc
        raise
    if row is None:
        raise EventGone()
    return Written(row["status"], row["arrival_no"], row["position"])


# --- the checks' reads before the write, on the hot connection (no ORM session) ----------

_EVENT_COLUMNS = [column.name for column in Event.__table__.columns]  # type: ignore[attr-defined]
_EVENT_JSON = {column.name for column in Event.__table__.columns  # type: ignore[attr-defined]
               if isinstance(column.type, JSON)}
_EVENT = hot_statement(f"SELECT {', '.join(_EVENT_COLUMNS)} FROM event WHERE id = $1")

# The couple's marriage registrations this service holds (both parties on one appointment):
# from each person to their own appointments, each read by its primary key. The lateral
# subqueries are fenced (OFFSET 0) for the reason ``noshow.banned_sql`` gives: a cached
# generic plan must not turn them into a scan of every party.
_COUPLE_RECORD = hot_statement("""
SELECT a.status, a.starts_at, o.timezone
FROM unnest($1::text[]) AS h(id_hash),
     LATERAL (SELECT p.appointment_id FROM appointment_party p WHERE p.id_hash = h.id_hash OFFSET 0) p,
     LATERAL (SELECT a.id, a.status, a.starts_at, a.office_id FROM appointment a
              WHERE a.id = p.appointment_id AND a.service = 'marriage_registration'
                AND a.status IN ('pending_review', 'confirmed', 'checked_in', 'completed') OFFSET 0) a
     JOIN office o ON o.id = a.office_id
GROUP BY a.id, a.status, a.starts_at, o.timezone
HAVING count(DISTINCT h.id_hash) = 2
""")


async def read_event(conn: Any, event_id: uuid.UUID) -> Event | None:
    """The event as the ORM would load it (a detached object), in one primary-key read."""
    row = await conn.fetchrow(_EVENT, event_id)
    if row is None:
        return None
    values = dict(zip(_EVENT_COLUMNS, row, strict=True))
    for name in _EVENT_JSON:
        if isinstance(values[name], str):
            values[name] = json.loads(values[name])
    return Event(**values)


async def couple_registrations(conn: Any, id_hashes: list[str]) -> list[tuple[str, datetime, str]]:
    """(status, start, office timezone) of each registration that holds both parties."""
    return [(r[0], r[1], r[2]) for r in await conn.fetch(_COUPLE_RECORD, id_hashes)]


__all__ = ["CodeTaken", "EventGone", "KeyTaken", "PartyTaken", "SignupDraft", "Written", "couple_registrations",
           "read_event", "write_signup"]
