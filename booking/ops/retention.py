"""Retention: what the service keeps only for a while (PIPL art. 19, GB/T 35273 6.1: no
longer than the purpose needs).

- Idempotency records: a client retries within minutes; two days is generous.
- Delivered, dropped or cancelled outbox rows: kept 90 days for support questions
  ("did the reminder go out?"), then deleted. Failed rows stay until an operator looks.
- Scans uploaded for a cross-province application: deleted (file and row)
  ``BOOKING_RETENTION_SCAN_DAYS`` after the application was decided, withdrawn or expired.
- Personal data of appointments and sign-ups that ended (completed, turned away, cancelled,
  no-show; a sign-up's event over), of ballot entries (their day over) and of divorce cases
  that ended (registered, withdrawn, lapsed): ``BOOKING_RETENTION_PERSONAL_DATA_DAYS`` after
  the end, the parties' names, encrypted ID numbers, facts (sex, birth date) and phones,
  their lookup hashes and masks, and a sign-up's contact, sponsor and marriage date are
  removed. A drawn ballot stays checkable: its seed and entry ids hold no personal data. What stays is what the office's
  statistics and the audit log need: office, service, times, status, counts. Audit entries
  hold no personal data to begin with, so they are kept as they are.

The ID hash is what the no-show policy counts by, so ``personal_data_days`` must exceed any
office's no-show window plus ban (the settings refuse less than 60 days).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, delete, func, literal, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import SYSTEM
from booking.db.models import (
    ACTIVE_STATUSES,
    APPOINTMENT_STATUSES,
    ApplicationDocument,
    Appointment,
    AppointmentParty,
    Ballot,
    BallotEntry,
    BallotEntryParty,
    CrossProvinceApplication,
    DivorceCase,
    DivorceParty,
    Event,
    IdempotencyRecord,
    Notification,
    Signup,
    SignupParty,
)
from booking.kernel.audit import record
from booking.runtime import Runtime

logger = logging.getLogger("booking.retention")

IDEMPOTENCY_KEEP = timedelta(days=2)
OUTBOX_KEEP = timedelta(days=90)
BATCH = 500
# the personal-data sweeps scan ended rows: once an hour per process is plenty
SWEEP_EVERY = timedelta(hours=1)
# every status that holds no seat: completed, turned away, no-show, cancelled
ENDED_APPOINTMENTS = tuple(s for s in APPOINTMENT_STATUSES if s not in ACTIVE_STATUSES)
CLOSED_APPLICATIONS = ("approved", "rejected", "withdrawn", "expired")
ENDED_SIGNUPS = ("attended", "no_show", "rejected", "cancelled")


@dataclass(slots=True)
class Purged:
    idempotency_records: int
    notifications: int
    documents: int = 0
    appointments_anonymised: int = 0
    signups_anonymised: int = 0
    ballot_entries_anonymised: int = 0
    divorce_cases_anonymised: int = 0

    @property
    def personal(self) -> dict[str, int]:
        """What the personal-data sweep removed, by kind (the audit entry's and log's facts)."""
        return {"documents": self.documents, "appointments": self.appointments_anonymised,
                "signups": self.signups_anonymised, "ballot_entries": self.ballot_entries_anonymised,
                "divorce_cases": self.divorce_cases_anonymised}


async def purge_expired(rt: Runtime) -> Purged:
    now = rt.clock.now()
    async with rt.db.session() as session:
        records = await session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - IDEMPOTENCY_KEEP))
        notifications = await session.execute(
            delete(Notification).where(Notification.state.in_(("sent", "dropped", "cancelled")),  # type: ignore[attr-defined]
                                       Notification.created_at < now - OUTBOX_KEEP))
        await session.commit()
    purged = Purged(records.rowcount or 0, notifications.rowcount or 0)  # type: ignore[attr-defined]
    due = rt.next_retention_sweep
    if due is None or now >= due:
        rt.next_retention_sweep = now + SWEEP_EVERY
        await remove_personal_data(rt, now, purged)
    return purged


async def remove_personal_data(rt: Runtime, now: datetime, purged: Purged) -> Purged:
    """Scans and the parties' personal data past their retention; batch by batch, each in
    its own transaction, until none is left. Running it again changes nothing."""
    settings = rt.settings
    scans_before = now - timedelta(days=settings.retention_scan_days)
    data_before = now - timedelta(days=settings.retention_personal_data_days)
    while documents := await _expired_documents(rt, scans_before):
        for document_id in documents:
            rt.documents.delete(document_id)  # the file first: a row without a file is harmless
        async with rt.db.session() as session:
            await session.execute(delete(ApplicationDocument).where(ApplicationDocument.id.in_(documents)))  # type: ignore[attr-defined]
            await session.commit()
        purged.documents += len(documents)
    while count := await _anonymise_appointments(rt, data_before, now):
        purged.appointments_anonymised += count
    while count := await _anonymise_signups(rt, data_before, now):
        purged.signups_anonymised += count
    while count := await _anonymise_ballot_entries(rt, data_before):
        purged.ballot_entries_anonymised += count
    while count := await _anonymise_divorce_cases(rt, data_before):
        purged.divorce_cases_anonymised += count
    if any(purged.personal.values()):
        async with rt.db.session() as session:
            record(session, SYSTEM, "retention.purge", target_type="retention", target_id=now.date().isoformat(),
                   office_id=None, at=now, **purged.personal)
            await session.commit()
        logger.info("personal data removed", extra=purged.personal)
    return purged


async def _expired_documents(rt: Runtime, before: datetime) -> list:
    async with rt.db.session() as session:
        closed_at = func.coalesce(CrossProvinceApplication.decided_at, CrossProvinceApplication.updated_at)
        rows = await session.execute(
            select(ApplicationDocument.id)
            .join(CrossProvinceApplication, CrossProvinceApplication.id == ApplicationDocument.application_id)
            .where(CrossProvinceApplication.status.in_(CLOSED_APPLICATIONS), closed_at < before)  # type: ignore[attr-defined]
            .limit(BATCH))
        return list(rows.scalars())


REMOVED = "removed:"


def _scrubbed(table: Any) -> dict[str, object]:
    """A party row of ``table`` without personal data; the hashes become values unique to
    the row (the unique indexes need them) that match no person."""
    marker = literal(REMOVED) + cast(table.id, String)
    values: dict[str, object] = {"name": "", "id_enc": "", "id_masked": "", "phone_enc": "", "phone_masked": "",
                                 "id_hash": marker, "phone_hash": marker}
    if hasattr(table, "facts_enc"):  # sex and birth date, encrypted: still theirs
        values["facts_enc"] = ""
    return values


def _not_scrubbed(table: Any) -> Any:
    return not_(table.id_hash.startswith(REMOVED))


async def _anonymise_appointments(rt: Runtime, before: datetime, now: datetime) -> int:
    async with rt.db.session() as session:
        ids = list((await session.execute(
            select(Appointment.id).where(Appointment.anonymised_at.is_(None),  # type: ignore[union-attr]
                                         Appointment.status.in_(ENDED_APPOINTMENTS),  # type: ignore[attr-defined]
                                         Appointment.starts_at < before, Appointment.updated_at < before)
            .limit(BATCH).with_for_update(skip_locked=True))).scalars())
        if ids:
            await session.execute(update(AppointmentParty).where(AppointmentParty.appointment_id.in_(ids))  # type: ignore[attr-defined]
                                  .values(**_scrubbed(AppointmentParty)))
            await session.execute(update(Appointment).where(Appointment.id.in_(ids)).values(anonymised_at=now))  # type: ignore[attr-defined]
            await session.commit()
        return len(ids)


async def _anonymise_signups(rt: Runtime, before: datetime, now: datetime) -> int:
    async with rt.db.session() as session:
        ids = list((await session.execute(
            select(Signup.id).join(Event, Event.id == Signup.event_id)
            .where(Signup.anonymised_at.is_(None),  # type: ignore[union-attr]
                   or_(Event.ends_at < before,
                       and_(Signup.status.in_(ENDED_SIGNUPS), Signup.updated_at < before)))  # type: ignore[attr-defined]
            .limit(BATCH).with_for_update(of=Signup, skip_locked=True))).scalars())
        if ids:
            await _scrub_signups(session, ids, now)
        return len(ids)


async def _scrub_signups(session: AsyncSession, ids: list, now: datetime) -> None:
    await session.execute(update(SignupParty).where(SignupParty.signup_id.in_(ids))  # type: ignore[attr-defined]
                          .values(**_scrubbed(SignupParty)))
    await session.execute(update(Signup).where(Signup.id.in_(ids)).values(  # type: ignore[attr-defined]
        anonymised_at=now, contact_name=None, contact_phone_enc=None, contact_phone_hash=None,
        contact_phone_masked=None, sponsor_name=None, marriage_date=None))
    await session.commit()


async def _anonymise_ballot_entries(rt: Runtime, before: datetime) -> int:
    """The parties of entries of ballots whose day is past the period: a winner's data lives
    on in its appointment (with that appointment's own retention), the rest are over."""
    async with rt.db.session() as session:
        entries = list((await session.execute(
            select(BallotEntry.id).join(Ballot, Ballot.id == BallotEntry.ballot_id)
            .where(Ballot.day < before.date(),
                   select(BallotEntryParty.id).where(BallotEntryParty.entry_id == BallotEntry.id,
                                                     _not_scrubbed(BallotEntryParty)).exists())
            .limit(BATCH).with_for_update(of=BallotEntry, skip_locked=True))).scalars())
        if entries:
            await session.execute(update(BallotEntryParty).where(BallotEntryParty.entry_id.in_(entries))  # type: ignore[attr-defined]
                                  .values(active=False, **_scrubbed(BallotEntryParty)))
            await session.commit()
        return len(entries)


async def _anonymise_divorce_cases(rt: Runtime, before: datetime) -> int:
    """The parties of divorce cases that ended (registered, withdrawn, lapsed) before the
    period; the case keeps its office, dates and state for the statistics."""
    async with rt.db.session() as session:
        cases = list((await session.execute(
            select(DivorceCase.id)
            .where(DivorceCase.ended_at < before,  # type: ignore[operator]
                   select(DivorceParty.id).where(DivorceParty.case_id == DivorceCase.id,
                                                 _not_scrubbed(DivorceParty)).exists())
            .limit(BATCH).with_for_update(skip_locked=True))).scalars())
        if cases:
            await session.execute(update(DivorceParty).where(DivorceParty.case_id.in_(cases))  # type: ignore[attr-defined]
                                  .values(open=False, **_scrubbed(DivorceParty)))
            await session.commit()
        return len(cases)
