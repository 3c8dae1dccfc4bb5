"""Writing to the outbox: rows planned here are inserted by the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import Notification

OUTBOX_NAMESPACE = uuid.UUID("6f1c2b0e-5d1a-4c47-9a58-2a0f1de1b5a9")


def dedupe_id(key: str) -> uuid.UUID:
    """The row id of a message: the same message always gets the same id."""
    return uuid.uuid5(OUTBOX_NAMESPACE, key)


@dataclass(slots=True)
class OutboxRow:
    id: uuid.UUID  # = dedupe_id(logical key)
    kind: str
    channel: str  # email | sms
    locale: str
    subject_type: str
    subject_id: uuid.UUID
    sequence: int
    due_at: datetime
    account_id: uuid.UUID | None = None
    party_id: uuid.UUID | None = None
    not_after: datetime | None = None
    payload: dict[str, Any] = field(default_factory=dict)

    def values(self, now: datetime) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "channel": self.channel, "account_id": self.account_id,
            "party_id": self.party_id, "locale": self.locale, "subject_type": self.subject_type,
            "subject_id": self.subject_id, "sequence": self.sequence, "due_at": self.due_at,
            "not_after": self.not_after, "state": "pending", "attempts": 0, "next_attempt_at": self.due_at,
            "payload": self.payload, "created_at": now,
        }


@dataclass(frozen=True, slots=True)
class Recipients:
    """Who hears about a subject: the account by e-mail, the contact party (the first) by
    SMS, as registry SMS notices go to the one phone given as contact."""

    account_id: uuid.UUID | None
    sms_party: uuid.UUID | None

    def channels(self) -> list[tuple[str, uuid.UUID | None, uuid.UUID | None, str]]:
        out: list[tuple[str, uuid.UUID | None, uuid.UUID | None, str]] = []
        if self.account_id is not None:
            out.append(("email", self.account_id, None, f"a{self.account_id}"))
        if self.sms_party is not None:
            out.append(("sms", None, self.sms_party, f"p{self.sms_party}"))
        return out


def messages(kind: str, subject_type: str, subject_id: uuid.UUID, sequence: int, recipients: Recipients,
             locale: str, due_at: datetime, *, not_after: datetime | None = None, tag: str = "",
             channels: tuple[str, ...] = ("email", "sms"), payload: dict[str, Any] | None = None) -> list[OutboxRow]:
    """One row per recipient and channel; the dedupe key makes a second write of the same
    message a no-op, and a second delivery of the same row impossible."""
    rows = []
    for channel, account_id, party_id, who in recipients.channels():
        if channel not in channels:
            continue
        key = f"{subject_type}:{subject_id}:{kind}:{tag}:{sequence}:{channel}:{who}"
        rows.append(OutboxRow(id=dedupe_id(key), kind=kind, channel=channel, locale=locale,
                              subject_type=subject_type, subject_id=subject_id, sequence=sequence, due_at=due_at,
                              account_id=account_id, party_id=party_id, not_after=not_after,
                              payload=dict(payload or {}, **({"which": tag} if tag else {}))))
    return rows


async def add_rows(session: AsyncSession, rows: list[OutboxRow], now: datetime) -> None:
    if rows:
        # NULLs written out: every row has the same columns, so all go in one batch (left
        # out, e-mail rows and SMS rows alternate and each becomes a statement of its own)
        await session.execute(insert(Notification).execution_options(render_nulls=True),
                              [r.values(now) for r in rows])


async def cancel_pending(session: AsyncSession, subject_type: str, subject_id: uuid.UUID | Sequence[uuid.UUID],
                         kinds: tuple[str, ...] | None = None) -> None:
    """Pending messages about a subject (or several) that must not go out any more
    (reminders of a cancelled or moved appointment)."""
    subject = (Notification.subject_id == subject_id if isinstance(subject_id, uuid.UUID)
               else Notification.subject_id.in_(list(subject_id)))  # type: ignore[attr-defined]
    statement = update(Notification).where(
        Notification.subject_type == subject_type, subject, Notification.state == "pending")
    if kinds:
        statement = statement.where(Notification.kind.in_(kinds))  # type: ignore[attr-defined]
    await session.execute(statement.values(state="cancelled"))
