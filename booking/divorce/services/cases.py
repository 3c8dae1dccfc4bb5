"""The divorce case aggregate: reading it, locking it in the lock order, telling its
parties, ending it. Every change of a case's status is made here (``end``) or by the
steps that start it (``apply.py``, receipt in ``counter.py``).

Lock order (``booking.db.locking``): a visit's slot, then its appointment
(``lifecycle.lock_for_change``), then the case, then its parties and visits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.appointments.services import lifecycle
from booking.db.locking import Busy, lock_rows
from booking.db.models import Appointment, AppointmentParty, DivorceCase, DivorceParty, DivorceVisit
from booking.db.models.divorce import OPEN_CASE_STATUSES
from booking.errors import NotFound
from booking.kernel.catalog import DIVORCE
from booking.notifications.outbox import OutboxRow, Recipients, cancel_pending, messages
from booking.offices.directory import OfficeInfo

SUBJECT = "divorce_case"  # the outbox's subject type of a case's own notices


async def parties_of(session: AsyncSession, case_id: uuid.UUID) -> list[DivorceParty]:
    rows = await session.execute(select(DivorceParty).where(DivorceParty.case_id == case_id)
                                 .order_by(DivorceParty.position))
    return list(rows.scalars().all())


async def visits_of(session: AsyncSession, case_id: uuid.UUID) -> list[tuple[DivorceVisit, Appointment]]:
    """The case's visits with their appointments, oldest first."""
    rows = await session.execute(select(DivorceVisit, Appointment)
                                 .join(Appointment, Appointment.id == DivorceVisit.appointment_id)
                                 .where(DivorceVisit.case_id == case_id).order_by(DivorceVisit.created_at))
    return [(v, a) for v, a in rows.all()]


def active_visit(visits: Sequence[tuple[DivorceVisit, Appointment]]) -> tuple[DivorceVisit, Appointment] | None:
    """A case has at most one visit standing at a time."""
    return next(((v, a) for v, a in visits if a.status in lifecycle.ACTIVE), None)


def party_of(parties: Sequence[DivorceParty], principal: Principal) -> DivorceParty | None:
    """The caller's own party in the case, by their account (never by a name or number)."""
    if not principal.is_couple:
        return None
    return next((p for p in parties if p.account_id is not None and p.account_id == principal.id), None)


def other_than(parties: Sequence[DivorceParty], position: int) -> DivorceParty:
    return next(p for p in parties if p.position != position)


async def visible_case(session: AsyncSession, principal: Principal, case_id: uuid.UUID
                       ) -> tuple[DivorceCase, list[DivorceParty]]:
    """The case for one of its parties (by their own account) or a clerk of its office;
    anyone else gets the same 404 as for no case at all."""
    case = await session.get(DivorceCase, case_id)
    if case is None:
        raise NotFound()
    parties = await parties_of(session, case.id)
    if principal.is_couple:
        if party_of(parties, principal) is None:
            raise NotFound()
    elif not principal.manages_office(case.office_id):
        raise NotFound()
    return case, parties


async def lock_case(session: AsyncSession, case_id: uuid.UUID) -> tuple[DivorceCase, Appointment | None]:
    """The case locked for a change, after its standing visit (slot, then appointment: the
    lock order), which is returned locked too. A visit that changed between the read and
    the locks sends us round again."""
    for _attempt in range(3):
        standing = active_visit(await visits_of(session, case_id))
        appt = None
        if standing is not None:
            appt = await lifecycle.lock_for_change(session, standing[1].id)
        case = (await lock_rows(session, DivorceCase, [case_id]))[0]
        again = active_visit(await visits_of(session, case_id))
        if (again is None) == (standing is None) and (again is None or again[1].id == standing[1].id):  # type: ignore[index]
            return case, appt
        await session.rollback()
    raise Busy()


# --- telling the parties -------------------------------------------------------------------


def audience(parties: Sequence[DivorceParty], positions: Sequence[int] | None = None
             ) -> list[tuple[Recipients, str]]:
    """Each party with an account of their own, by that account and their own phone, in
    their own language; never one through the other."""
    return [(Recipients(p.account_id, p.id if p.phone_enc else None), p.locale) for p in parties
            if p.account_id is not None and (positions is None or p.position in positions)]


def case_messages(kind: str, case: DivorceCase, parties: Sequence[DivorceParty], now: datetime, *,
                  positions: Sequence[int] | None = None, due_at: datetime | None = None,
                  not_after: datetime | None = None, tag: str = "", payload: dict[str, Any] | None = None,
                  ) -> list[OutboxRow]:
    rows: list[OutboxRow] = []
    for who, locale in audience(parties, positions):
        rows += messages(kind, SUBJECT, case.id, case.version, who, locale, due_at or now, not_after=not_after,
                         tag=tag, payload=payload)
    return rows


def local_moment(day: date, at: time, office: OfficeInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=office.tz).astimezone(UTC)


def today(now: datetime, office: OfficeInfo) -> date:
    return now.astimezone(office.tz).date()


# --- the case's end ----------------------------------------------------------------------------


async def end(session: AsyncSession, case: DivorceCase, status: str, *, actor: Principal, now: datetime,
              standing: Appointment | None, by_position: int | None = None, via: str | None = None) -> None:
    """Close a locked case: its standing visit goes with it (seat and parties freed), its
    parties may take part in another case, its pending notices are dropped. The caller
    writes what the parties are told."""
    assert case.status in OPEN_CASE_STATUSES
    case.status = status
    case.ended_at = now
    case.ended_by_position = by_position
    case.ended_via = via
    case.version += 1
    case.updated_at = now
    await session.execute(update(DivorceParty).where(DivorceParty.case_id == case.id).values(open=False))
    await cancel_pending(session, SUBJECT, case.id)
    if standing is not None and standing.status in lifecycle.END_WITH_CASE.sources:
        await lifecycle.apply(session, [standing], lifecycle.END_WITH_CASE, actor=actor, now=now)


# --- writing a visit's rows -------------------------------------------------------------------


def visit_party(source: Any, appointment_id: uuid.UUID, position: int, account_id: uuid.UUID, locale: str
                ) -> AppointmentParty:
    """A party of a visit, from their prepared data or their row of an earlier visit (every
    column copied as stored: encrypted values stay encrypted), speaking for themselves."""
    columns = {c.key for c in AppointmentParty.__table__.columns} - {"id", "appointment_id", "position",  # type: ignore[attr-defined]
                                                                     "service", "active", "account_id", "locale"}
    values = {c: getattr(source, c) for c in columns if hasattr(source, c)}
    return AppointmentParty(id=uuid.uuid4(), appointment_id=appointment_id, position=position, service=DIVORCE,
                            active=True, account_id=account_id, locale=locale, **values)


ONE_OPEN_CASE = ("uq_divorce_party_open", "divorce_party.id_hash")
# one active booking (or ballot entry: the claim trigger) per person and service
ONE_ACTIVE_BOOKING = ("uq_appointment_party_active", "uq_person_active_claim", "appointment_party.id_hash")
