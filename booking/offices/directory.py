"""A short-lived in-process cache of what the hot paths need to know about an office.

Availability and booking read an office's timezone, rules and services on every request;
re-reading them from the database each time would double the round trips of the hottest
endpoints. Entries live a few seconds, and an edit in this process drops them at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.engine import Database
from booking.db.models import Office
from booking.errors import NotFound
from booking.kernel.ttl import MISSING, TtlCache
from booking.notifications.registry import RenderContext, SubjectGone
from booking.offices.rules import BookingRules, rules_of


@dataclass(frozen=True, slots=True)
class OfficeInfo:
    id: int
    code: str
    name_zh: str
    name_en: str
    province_code: str
    address_zh: str
    address_en: str
    email: str | None
    timezone: str
    tz: ZoneInfo
    services: tuple[str, ...]
    rules: BookingRules
    # GB/T 2260 six digits: city-level jurisdiction scopes (Wuhan 4201, Xi'an 6101) need it
    division_code: str | None = None

    def name(self, locale: str) -> str:
        return self.name_zh if locale.startswith("zh") else self.name_en

    def address(self, locale: str) -> str:
        return self.address_zh if locale.startswith("zh") or not self.address_en else self.address_en


def office_info(office: Office) -> OfficeInfo:
    return OfficeInfo(
        id=office.id or 0, code=office.code, name_zh=office.name_zh, name_en=office.name_en,
        province_code=office.province_code, address_zh=office.address_zh, address_en=office.address_en,
        email=office.email, timezone=office.timezone, tz=ZoneInfo(office.timezone),
        services=tuple(office.services or ()), rules=rules_of(office.rules), division_code=office.division_code,
    )


class OfficeDirectory:
    """The one way to get an office: ``get`` (an active office, or None: what can be booked)
    and ``of`` (the office of an existing record, also when it was deactivated since)."""

    def __init__(self, db: Database, ttl_seconds: float = 5.0) -> None:
        self._db = db
        self._ttl = ttl_seconds
        # refreshed ahead: an office read by every request must not stall them all when it
        # runs out (``TtlCache``); an edit elsewhere is seen within two TTLs
        self._entries: TtlCache[int, OfficeInfo | None] = TtlCache(ttl_seconds, stale_seconds=ttl_seconds)

    async def get(self, office_id: int, session: AsyncSession | None = None) -> OfficeInfo | None:
        """The office, or None when it does not exist or is inactive. Inside a transaction,
        pass its session: a second connection would wait on the first's locks (SQLite)."""
        if session is None:
            # one load at a time per office (the rush's first requests all miss at once)
            return await self._entries.get_or_load(office_id, lambda: self._load(office_id), self._ttl_of)
        hit = self._entries.get(office_id)  # live entries only: no stale answer inside a transaction
        if hit is not MISSING:
            return hit  # type: ignore[return-value]
        info = await self._read(session, office_id)
        return self._entries.put(office_id, info, self._ttl_of(info))

    async def reload(self, office_id: int) -> OfficeInfo | None:
        """Read the office now (before a release moment, when every request will need it)."""
        return await self._entries.reload(office_id, lambda: self._load(office_id), self._ttl_of)

    async def _load(self, office_id: int) -> OfficeInfo | None:
        async with self._db.session() as own:
            return await self._read(own, office_id)

    @staticmethod
    async def _read(session: AsyncSession, office_id: int) -> OfficeInfo | None:
        office = (await session.execute(select(Office).where(Office.id == office_id))).scalar_one_or_none()
        return office_info(office) if office is not None and office.is_active else None

    def _ttl_of(self, info: OfficeInfo | None) -> float:
        return self._ttl if info else min(self._ttl, 1.0)

    async def of(self, office_id: int, session: AsyncSession | None = None) -> OfficeInfo:
        """The office of an existing record (appointment, event, application), also when the
        office was deactivated since; ``NotFound`` when there is none. Inside a transaction,
        pass its session."""
        found = await self.get(office_id, session)
        if found is not None:
            return found
        if session is None:
            async with self._db.session() as own:
                row = await own.get(Office, office_id)
        else:
            row = await session.get(Office, office_id)
        if row is None:
            raise NotFound()
        return office_info(row)

    def forget(self, office_id: int | None = None) -> None:
        self._entries.forget(office_id)


async def office_for(ctx: RenderContext, office_id: int) -> OfficeInfo:
    """The office of a notice's subject (the shared lookup, in the render's transaction)."""
    try:
        return await ctx.rt.offices.of(office_id, ctx.session)
    except NotFound:
        raise SubjectGone("office gone") from None
