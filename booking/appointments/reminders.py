"""Who hears about an appointment, and the reminders a confirmed one gets."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from booking.kernel.reminders import day_before, day_before_deadline, hours_before_deadline
from booking.notifications.outbox import OutboxRow, Recipients, messages
from booking.offices.directory import OfficeInfo

REMINDER = "appointment.reminder"


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


def reminder_rows(appointment_id: uuid.UUID, sequence: int, who: Recipients, locale: str, starts_at: datetime,
                  office: OfficeInfo, now: datetime) -> list[OutboxRow]:
    """The day before at the office's reminder hour, and a few hours before. A reminder
    whose moment has already passed is not written (a booking made an hour before its
    slot gets no day-before reminder); one still unsent a while after its moment, or at
    the start of the appointment, is dropped rather than sent late."""
    rules = office.rules
    rows: list[OutboxRow] = []
    moment = day_before(starts_at, office.tz, rules.reminder_day_before_at)
    if moment > now:
        rows += messages(REMINDER, "appointment", appointment_id, sequence, who, locale,
                         moment.astimezone(UTC), not_after=day_before_deadline(starts_at, moment), tag="day_before")
    if rules.reminder_hours_before:
        hours_before = starts_at - timedelta(hours=rules.reminder_hours_before)
        if hours_before > now:
            rows += messages(REMINDER, "appointment", appointment_id, sequence, who, locale, hours_before,
                             not_after=hours_before_deadline(starts_at, hours_before), tag="hours_before",
                             channels=("sms",))
    return rows
