"""Who hears about an appointment, and the reminders a confirmed one gets.

Reminders are a fact of the appointment (its start and its office's rules), not rows
written at booking time: a confirmed appointment carries ``remind_at``, the moment of its
next reminder not yet handed on (indexed). ``derive_due`` (run by the outbox sweep, in
every process that sweeps) claims appointments whose moment has come in batches, writes
their reminders into the outbox then (and only then) and moves ``remind_at`` on to the
next moment, or to NULL, in the same transaction. Exactly once: the claim is a row lock
taken with SKIP LOCKED (another sweeper takes other appointments), the moment moves in the
transaction that writes the rows, and a row's id is its dedupe key (a second write of the
same reminder is a no-op).

Nothing stale goes out: every change that takes an appointment out of ``confirmed`` clears
``remind_at`` and cancels the reminders already handed on (cancel, closure, no-show...);
a reschedule sets the moment again from the new start and raises the sequence, which the
renderer checks (a reminder of an older sequence is dropped). A reminder whose moment
passed while no sweep ran (beyond its grace) is written as ``dropped``, as it was when
reminders were rows from the start.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from booking.appointments.queries import parties_of_many
from booking.db.models import Appointment, Notification, Office
from booking.kernel.reminders import day_before, day_before_deadline, hours_before_deadline
from booking.notifications.outbox import OutboxRow, Recipients, messages
from booking.offices.directory import OfficeInfo, office_info

REMINDER = "appointment.reminder"

# appointments claimed per transaction of the sweep
DERIVE_BATCH = 500


def recipients(account_id: uuid.UUID | None, parties: list[Any]) -> Recipients:
    contact = min(parties, key=lambda p: p.position) if parties else None
    return Recipients(account_id, contact.id if contact else None)


def audiences(appt: Any, parties: list[Any]) -> list[tuple[Recipients, str]]:
    """Who hears about an appointment, each in their own language. Parties with accounts
    of their own (both spouses of a divorce) each hear by that account and their own
    phone, and never through the other's; otherwise the booking account and the first
    party's phone speak for the couple."""
    own = [p for p in parties if getattr(p, "account_id", None) is not None]
    if own:
        return [(Recipients(p.account_id, p.id), p.locale or appt.locale) for p in own]
    return [(recipients(appt.account_id, parties), appt.locale)]


@dataclass(frozen=True, slots=True)
class Moment:
    """One reminder of an appointment: when, until when it may still go, and by what."""

    tag: str
    at: datetime
    not_after: datetime
    channels: tuple[str, ...]


def moments(starts_at: datetime, office: OfficeInfo) -> list[Moment]:
    """The day before at the office's reminder hour, and a few hours before (SMS), in
    order. One still unsent a while after its moment, or at the start, is dropped rather
    than sent late."""
    rules = office.rules
    first = day_before(starts_at, office.tz, rules.reminder_day_before_at).astimezone(UTC)
    found = [Moment("day_before", first, day_before_deadline(starts_at, first), ("email", "sms"))]
    if rules.reminder_hours_before:
        hours_before = starts_at - timedelta(hours=rules.reminder_hours_before)
        found.append(Moment("hours_before", hours_before, hours_before_deadline(starts_at, hours_before), ("sms",)))
    return sorted(found, key=lambda m: m.at)


def first_reminder(starts_at: datetime, office: OfficeInfo, now: datetime) -> datetime | None:
    """``remind_at`` of an appointment confirmed (or moved) at ``now``: its first reminder
    still ahead. One whose moment has passed is not sent (a booking made an hour before
    its slot gets no day-before reminder)."""
    return next((m.at for m in moments(starts_at, office) if m.at > now), None)


def reminder_rows(appointment_id: uuid.UUID, sequence: int, who: Recipients, locale: str, moment: Moment
                  ) -> list[OutboxRow]:
    return messages(REMINDER, "appointment", appointment_id, sequence, who, locale, moment.at,
                    not_after=moment.not_after, tag=moment.tag, channels=moment.channels)


@dataclass(slots=True)
class Derived:
    claimed: int  # appointments claimed by the batch
    dropped: list[str]  # channels of reminders written as dropped (their moment had passed)


async def derive_due(session: AsyncSession, now: datetime, *, postgres: bool, limit: int = DERIVE_BATCH) -> Derived:
    """One batch of the sweep: reminders of confirmed appointments whose moment has come,
    into the outbox (the caller commits)."""
    query = (select(Appointment).where(Appointment.remind_at <= now)  # type: ignore[operator]
             .order_by(Appointment.remind_at).limit(limit))
    if postgres:
        query = query.with_for_update(skip_locked=True)
    appts = list((await session.execute(query)).scalars())
    if not appts:
        return Derived(0, [])
    office_ids = sorted({a.office_id for a in appts})
    offices = {o.id: office_info(o) for o in (await session.execute(
        select(Office).where(Office.id.in_(office_ids)))).scalars()}  # type: ignore[union-attr]
    parties = await parties_of_many(session, [a.id for a in appts])
    rows: list[dict[str, Any]] = []
    dropped: list[str] = []
    for appt in appts:
        office = offices.get(appt.office_id)
        due = appt.remind_at
        if appt.status != "confirmed" or office is None or due is None:
            appt.remind_at = None
            continue
        ahead = [m for m in moments(appt.starts_at, office) if m.at >= due]
        for moment in (m for m in ahead if m.at <= now):
            for who, locale in audiences(appt, parties[appt.id]):
                for row in reminder_rows(appt.id, appt.sequence, who, locale, moment):
                    values = row.values(now)
                    if moment.not_after <= now:  # no sweep ran in its time: it is not sent late
                        values.update(state="dropped", last_error="its moment had passed")
                        dropped.append(row.channel)
                    rows.append(values)
        appt.remind_at = next((m.at for m in ahead if m.at > now), None)
    if rows:
        statement = _insert_ignore(Notification, postgres)
        await session.execute(statement, rows)
    return Derived(len(appts), dropped)


def _insert_ignore(model: Any, postgres: bool) -> Any:
    if postgres:
        return pg_insert(model).on_conflict_do_nothing(index_elements=["id"]).execution_options(render_nulls=True)
    return sqlite_insert(model).on_conflict_do_nothing(index_elements=["id"]).execution_options(render_nulls=True)


__all__ = ["REMINDER", "Derived", "Moment", "audiences", "derive_due", "first_reminder", "moments", "recipients",
           "reminder_rows"]
