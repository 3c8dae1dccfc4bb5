"""The outbox rows a sign-up's changes write (rendered by ``notices.py``).

Every row's subject is the sign-up: its invite has one UID, and the e-mail of a change
carries that invite at the sign-up's current SEQUENCE (the event's plus its own). SMS go to
the sign-up's contact, else its first party: the row names the sign-up, and the phone is
resolved at send time (``notices.signup_phone``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import Event, Notification, Signup
from booking.kernel.reminders import day_before, day_before_deadline
from booking.notifications.outbox import OutboxRow, Recipients, add_rows, messages
from booking.offices.rules import BookingRules

REMINDER = "event.reminder"


def invite_sequence(event: Any, signup: Any) -> int:
    """SEQUENCE of a sign-up's invite: raised by every change of either."""
    return int(event.sequence) + int(signup.sequence)


def recipients(signup_id: uuid.UUID, account_id: uuid.UUID | None) -> Recipients:
    return Recipients(account_id, signup_id)


def notice_rows(kind: str, signup: Any, event: Any, now: datetime,
                payload: dict[str, Any] | None = None) -> list[OutboxRow]:
    return messages(kind, "signup", signup.id, invite_sequence(event, signup),
                    recipients(signup.id, signup.account_id), signup.locale, now, payload=payload)


def reminder_rows(signup: Any, event: Any, rules: BookingRules, now: datetime) -> list[OutboxRow]:
    """The day before the event, at the office's reminder hour in the venue's timezone;
    none when that moment has passed already."""
    moment = day_before(event.starts_at, ZoneInfo(event.timezone), rules.reminder_day_before_at)
    if moment <= now:
        return []
    return messages(REMINDER, "signup", signup.id, invite_sequence(event, signup),
                    recipients(signup.id, signup.account_id), signup.locale, moment.astimezone(UTC),
                    not_after=day_before_deadline(event.starts_at, moment), tag="day_before")


async def announce(session: AsyncSession, kind: str, signup_ids: Iterable[uuid.UUID], event: Event,
                   rules: BookingRules, now: datetime, *, payload: dict[str, Any] | None = None) -> None:
    """``kind`` to each of these sign-ups (as they are now), with the day-before reminder
    for those now confirmed."""
    ids = list(signup_ids)
    if not ids:
        return
    rows = (await session.execute(
        select(Signup.id, Signup.account_id, Signup.locale, Signup.sequence, Signup.status)
        .where(Signup.id.in_(ids)))).all()  # type: ignore[attr-defined]
    out: list[OutboxRow] = []
    for row in rows:
        out += notice_rows(kind, row, event, now, payload)
        if row.status == "confirmed":
            out += reminder_rows(row, event, rules, now)
    await add_rows(session, out, now)


async def cancel_reminders(session: AsyncSession, signup_ids: Iterable[uuid.UUID]) -> None:
    """Pending reminders of these sign-ups must not go out any more."""
    ids = list(signup_ids)
    if ids:
        await session.execute(update(Notification).where(
            Notification.subject_type == "signup", Notification.subject_id.in_(ids),  # type: ignore[attr-defined]
            Notification.kind == REMINDER, Notification.state == "pending").values(state="cancelled"))
