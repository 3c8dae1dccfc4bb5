"""``Idempotency-Key`` for creating endpoints (DESIGN.md 4.3): one claim, one replay.

The booking write claims the key inside its single statement (``appointments/store.py``,
with this claim's fields) and, when another request with the key got there first, replays
that request's answer with ``stored_answer``. Every other creating service uses the claim
inside its own transaction:

    claim = IdempotencyClaim.of(rt, principal.id, key, "event.create", body)
    if claim is not None and (answer := await claim.take(session, now)) is not None:
        return answer                      # a retry: the first answer, nothing created
    ... create ...
    if claim is not None:
        claim.settle(201, response)        # before the commit, in the same transaction
    await session.commit()

``take`` inserts the key first: a concurrent request with the same key waits on it until
the first commits (then replays its answer) or rolls back (then goes ahead itself).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.engine import hot_statement
from booking.db.models import IdempotencyRecord
from booking.errors import Conflict
from booking.i18n import lazy

_canonical = msgspec.json.Encoder(order="sorted")
_decode = msgspec.json.decode
_STORED = hot_statement("SELECT scope, request_hash, status_code, response FROM idempotency_record "
                        "WHERE owner_id = $1 AND key = $2")

# An earlier answer, replayed as the JSON it was stored as (an ``Answer`` encoded then); not
# decoded again, so an answer stored before a field was added still replays.
Replayed = dict[str, Any]


class IdempotencyKeyReused(Conflict):
    code = "idempotency-key-reused"
    title = lazy("This Idempotency-Key was already used for a different request.")


def fingerprint(vault: Any, scope: str, body: Any) -> str:
    """A keyed hash of the canonical request (bodies may carry personal data)."""
    return vault.lookup_hash(f"{scope}|{_canonical.encode(body).decode()}", kind="idempotency")


@dataclass(slots=True)
class IdempotencyClaim:
    owner_id: uuid.UUID
    key: str
    scope: str
    request_hash: str
    record: IdempotencyRecord | None = None

    @classmethod
    def of(cls, rt: Any, owner_id: uuid.UUID, key: str | None, scope: str, body: Any) -> IdempotencyClaim | None:
        if key is None:
            return None
        return cls(owner_id, key, scope, fingerprint(rt.vault, scope, body))

    def _answer(self, record: IdempotencyRecord) -> tuple[int, Replayed]:
        """The replay: the first answer, to the same request only."""
        if record.scope != self.scope or record.request_hash != self.request_hash:
            raise IdempotencyKeyReused()
        return record.status_code, record.response

    async def stored_answer(self, db: Any) -> tuple[int, Replayed] | None:
        """The answer an earlier request with this key committed, replayed; None when there is
        none (for a write that claims the key by itself, outside a session of ours). On
        PostgreSQL one primary-key read on the hot paths' connection (a keyed refusal in
        the rush pays it: the success it may replay could have been committed by another
        process, or before this one started, so no memory of this process can stand in)."""
        if db.is_postgres:
            async with db.raw() as conn:
                row = await conn.fetchrow(_STORED, self.owner_id, self.key)
            if row is None:
                return None
            response = row["response"]
            return self._answer(IdempotencyRecord(
                owner_id=self.owner_id, key=self.key, scope=row["scope"], request_hash=row["request_hash"],
                status_code=row["status_code"],
                response=_decode(response) if isinstance(response, (str, bytes)) else response))
        async with db.session() as session:
            record = await session.get(IdempotencyRecord, (self.owner_id, self.key))
            return None if record is None else self._answer(record)

    async def take(self, session: AsyncSession, now: datetime | None = None) -> tuple[int, Replayed] | None:
        """The stored answer of an earlier request with this key, or None once the key is
        claimed for this request (in the session's transaction). ``now`` (the runtime's
        clock) dates the record for the retention job."""
        existing = await session.get(IdempotencyRecord, (self.owner_id, self.key))
        if existing is not None:
            return self._answer(existing)
        self.record = IdempotencyRecord(owner_id=self.owner_id, key=self.key, scope=self.scope,
                                        request_hash=self.request_hash, status_code=0, response={})
        if now is not None:
            self.record.created_at = now
        session.add(self.record)
        try:
            await session.flush()
        except IntegrityError:
            # another request with the key committed while this one waited on it
            await session.rollback()
            existing = await session.get(IdempotencyRecord, (self.owner_id, self.key))
            assert existing is not None
            return self._answer(existing)
        return None

    def settle(self, status_code: int, response: Any) -> None:
        """Record the answer (an ``Answer``, stored as its JSON); it commits with the change
        it describes."""
        assert self.record is not None, "take() first"
        self.record.status_code = status_code
        self.record.response = msgspec.to_builtins(response)
