"""Revocation: a signed token is not enough; the account behind it must still allow it.

Every request's token is checked against the account's state: active, the same role and
office as the token says, the same session version (raised by deactivation, reactivation,
a move to another office, an MFA reset), and the token's id not ended by a logout. The
answer is cached in each process for ``BOOKING_ACCOUNT_CACHE_SECONDS`` (5 s by default):
the booking rush reads the account once per token and cache period, not once per request.
A change is seen at once by the process that made it (``forget``) and within the cache
period by every other API replica (they share nothing but the database).

Used by the API's token check (``booking.accounts.tokens``) and callable as a service by
anything else that holds a session (web pages): ``AccountGate.admits``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.clock import Clock
from booking.db.engine import Database, hot_statement
from booking.db.models import RevokedToken
from booking.kernel.ttl import MISSING, TtlCache

_STATE_PG = hot_statement("""
SELECT a.is_active, a.role, a.office_id, a.session_version,
       EXISTS (SELECT 1 FROM revoked_token r WHERE r.jti = $2) AS revoked
FROM user_account a WHERE a.id = $1
""")
_STATE_SQL = text(
    "SELECT a.is_active, a.role, a.office_id, a.session_version, "
    "EXISTS (SELECT 1 FROM revoked_token r WHERE r.jti = :jti) AS revoked "
    "FROM user_account a WHERE a.id = :id").bindparams(bindparam("id", type_=Uuid))


@dataclass(frozen=True, slots=True)
class AccountState:
    active: bool
    role: str
    office_id: int | None
    session_version: int
    token_revoked: bool


@dataclass(frozen=True, slots=True)
class SessionClaims:
    """What a token (or a page session) says about its account."""

    account_id: uuid.UUID
    token_id: str
    role: str
    office_id: int | None
    session_version: int


class AccountGate:
    # a bound on the cache: past it, it is emptied (a rush of new tokens costs a re-read,
    # never memory)
    MAX_ENTRIES = 50_000

    def __init__(self, db: Database, clock: Clock, ttl_seconds: float) -> None:
        self._db = db
        # on the service's clock (tests move it), not the monotonic one
        self._cache: TtlCache[tuple[uuid.UUID, str], AccountState | None] = TtlCache(
            ttl_seconds, self.MAX_ENTRIES, clock=lambda: clock.now().timestamp())

    async def admits(self, claims: SessionClaims) -> bool:
        return _allows(await self.state(claims.account_id, claims.token_id), claims)

    def known(self, claims: SessionClaims) -> bool | None:
        """Whether the cached state admits ``claims``; None when this process has none cached
        (a write that checks the account itself may then take the check over)."""
        cached = self._cache.get((claims.account_id, claims.token_id))
        return None if cached is MISSING else _allows(cached, claims)  # type: ignore[arg-type]

    def admitted(self, claims: SessionClaims) -> None:
        """A write that checked the account in its own statement found that it allows
        ``claims``: cached as a read at that moment would have been."""
        self._cache.put((claims.account_id, claims.token_id),
                        AccountState(True, claims.role, claims.office_id, claims.session_version, False))

    async def state(self, account_id: uuid.UUID, token_id: str) -> AccountState | None:
        key = (account_id, token_id)
        cached = self._cache.get(key)
        if cached is not MISSING:
            return cached  # type: ignore[return-value]
        return self._cache.put(key, await self._read(account_id, token_id))

    def forget(self, account_id: uuid.UUID) -> None:
        """This process changed the account: drop what it cached of it at once."""
        self._cache.forget_where(lambda key: key[0] == account_id)

    async def _read(self, account_id: uuid.UUID, token_id: str) -> AccountState | None:
        if self._db.is_postgres:
            async with self._db.raw() as conn:
                row: Any = await conn.fetchrow(_STATE_PG, account_id, token_id)
        else:
            async with self._db.connect() as conn:
                row = (await conn.execute(_STATE_SQL, {"id": account_id, "jti": token_id})).first()
        if row is None:
            return None
        return AccountState(bool(row[0]), row[1], row[2], int(row[3]), bool(row[4]))


def _allows(state: AccountState | None, claims: SessionClaims) -> bool:
    return (state is not None and state.active and not state.token_revoked
            and state.role == claims.role and state.office_id == claims.office_id
            and state.session_version == claims.session_version)


async def end_session(session: AsyncSession, gate: AccountGate, account_id: uuid.UUID, token_id: str,
                      expires_at: datetime) -> None:
    """Log out: the token's id joins the deny-list until the token would have expired."""
    if await session.get(RevokedToken, token_id) is None:
        session.add(RevokedToken(jti=token_id, account_id=account_id, expires_at=expires_at))
        try:
            await session.commit()
        except IntegrityError:  # a concurrent logout of the same token got there first
            await session.rollback()
    gate.forget(account_id)
