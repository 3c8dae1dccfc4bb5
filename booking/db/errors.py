"""Which database errors are not the caller's fault nor a bug: the database is out of
connections, restarting or unreachable (retry shortly), and the SQLSTATE of a failure."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError

_UNAVAILABLE = (
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    # a pooled connection the server closed while it sat idle (a restart) fails its next
    # statement with this: the connection is dropped, a retry gets a new one
    asyncpg.InternalClientError,
    ConnectionError,
    TimeoutError,
)


def database_unavailable(exc: BaseException) -> bool:
    """The database is out of connections, restarting or unreachable: the client should
    retry shortly (503), this is not a bug of ours (500)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _UNAVAILABLE) or (isinstance(current, DBAPIError) and current.connection_invalidated):
            return True
        current = getattr(current, "orig", None) or current.__cause__
    return False


def sqlstate(exc: BaseException) -> str:
    """The SQLSTATE of the database error in ``exc``'s chain, or ``""``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(state, str):
            return state
        current = getattr(current, "orig", None) or current.__cause__
    return ""




LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of a lock_timeout (and of NOWAIT)
# a serialization failure, a deadlock or a lock_timeout (another transaction held the row
# too long, ``booking.db.locking``): nothing was written, a retry will do
RETRYABLE = ("40001", "40P01", LOCK_NOT_AVAILABLE)


def is_lock_timeout(exc: BaseException) -> bool:
    return sqlstate(exc) == LOCK_NOT_AVAILABLE


def retryable(exc: BaseException) -> bool:
    return sqlstate(exc) in RETRYABLE


def out_of_range(exc: BaseException) -> bool:
    """A number or date beyond what the database (or the calendar) holds, e.g. an id of
    2**63 or the year 9999 plus a day: the caller's input, not our bug."""
    return sqlstate(exc).startswith("22") or isinstance(exc, OverflowError)
