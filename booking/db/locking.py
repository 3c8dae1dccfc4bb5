"""Row locks: one helper for every path that locks more than one row.

The order every transaction follows, so that no two of them ever wait on each other in a
circle (a deadlock would cost a second of waiting and then a failed request):

1. the office row, for changes to an office's schedule (closures, special openings, slot
   generation, timezone or province): ``FOR NO KEY UPDATE``, which writes that reference
   the office (a cross-province application, a sign-up: they only hold the key share their
   foreign keys take; an appointment references its slot) never wait on;
2. slots, by id;
3. appointments, by id;
4. what hangs on an appointment (its cross-province application, parties, outbox rows).

Locks are taken inside the caller's transaction with ``SET LOCAL lock_timeout`` (the
``BOOKING_LOCK_TIMEOUT_SECONDS`` setting, carried in each session's ``info``), so a
request never waits longer than that behind another; when it would,
the transaction is rolled back and the caller gets ``Busy`` (503, Retry-After): nothing
was written and a retry will do. Sweeps that claim work (the no-show and hold-expiry
sweeps' appointments, the outbox's due rows) take rows with ``SKIP LOCKED``, which never
waits and so cannot close a circle. SQLite takes its one write lock at ``BEGIN IMMEDIATE``
(``booking.db.engine``), so row locks are no-ops there.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.errors import is_lock_timeout
from booking.errors import ServiceUnavailable
from booking.i18n import lazy

RETRY_AFTER_SECONDS = "1"
DEFAULT_TIMEOUT_SECONDS = 5.0

Row = TypeVar("Row")


class Busy(ServiceUnavailable):
    code = "busy"
    title = lazy("Someone else is changing this right now; try again in a moment.")

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": RETRY_AFTER_SECONDS})


async def set_lock_timeout(session: AsyncSession) -> None:
    """For the rest of the session's transaction (PostgreSQL only), once per transaction."""
    if session.bind.dialect.name != "postgresql":  # type: ignore[union-attr]
        return
    transaction = session.sync_session.get_transaction()
    done = session.info.get("lock_timeout_set")
    if transaction is not None and done is not None and done() is transaction:
        return
    seconds = session.info.get("lock_timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
    await session.execute(text(f"SET LOCAL lock_timeout = '{int(seconds * 1000)}ms'"))
    session.info["lock_timeout_set"] = weakref.ref(session.sync_session.get_transaction())


async def lock_rows(session: AsyncSession, model: type[Row], ids: Iterable[Any] | None = None, *,
                    where: Any = None, key_share: bool = False) -> list[Row]:
    """Lock the rows of ``model`` with these ids (or matching ``where``), in id order, and
    return them fresh from the database (replacing what the session had loaded).
    ``key_share`` takes the weaker ``FOR NO KEY UPDATE`` (the office's schedule lock)."""
    column = model.id  # type: ignore[attr-defined]
    if where is None:
        wanted = sorted(set(ids or ()))
        if not wanted:
            return []
        where = column.in_(wanted)
    await set_lock_timeout(session)
    # PostgreSQL locks the rows as the sort hands them on: in id order
    query = (select(model).where(where).order_by(column)
             .with_for_update(key_share=key_share).execution_options(populate_existing=True))
    try:
        return list((await session.execute(query)).scalars().all())
    except DBAPIError as exc:
        if is_lock_timeout(exc):
            await session.rollback()
            raise Busy() from exc
        raise


__all__ = ["Busy", "lock_rows", "set_lock_timeout"]
