"""A short-lived in-process cache of what the hot paths need to know about an office.

Availability and booking read an office's timezone, rules and services on every request;
re-reading them from the database each time would double the round trips of the hottest
endpoints. Entries live a few seconds, and an edit in this process drops them at once.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.engine import Database
from booking.db.models import Office
from booking.errors import NotFound
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
    MAX_ENTRIES = 10_000

    def __init__(self, db: Database, ttl_seconds: float = 5.0) -> None:
        self._db = db
        self._ttl = ttl_seconds
        self._entries: dict[int, tuple[float, OfficeInfo | None]] = {}

    async def get(self, office_id: int, session: AsyncSession | None = None) -> OfficeInfo | None:
        """The office, or None when it does not exist or is inactive. Inside a transaction,
        pass its session: a second connection would wait on the first's locks (SQLite)."""
        hit = self._entries.get(office_id)
        now = _time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        if session is not None:
            office = (await session.execute(select(Office).where(Office.id == office_id))).scalar_one_or_none()
        else:
            async with self._db.session() as own:
                office = (await own.execute(select(Office).where(Office.id == office_id))).scalar_one_or_none()
        info = office_info(office) if office is not None and office.is_active else None
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()  # ids come from public URLs: unknown ones must not pile up
        self._entries[office_id] = (now + (self._ttl if info else min(self._ttl, 1.0)), info)
        return info

    def forget(self, office_id: int | None = None) -> None:
        if office_id is None:
            self._entries.clear()
        else:
            self._entries.pop(office_id, None)


async def office_of(rt: Any, office_id: int, session: AsyncSession | None = None) -> OfficeInfo:
    """The office of an existing record (appointment, event, application), also when the
    office was deactivated since. Inside a transaction, pass its session."""
    found = await rt.extras["offices"].get(office_id, session)
    if found is not None:
        return found  # type: ignore[no-any-return]
    if session is None:
        async with rt.db.session() as own:
            row = await own.get(Office, office_id)
    else:
        row = await session.get(Office, office_id)
    if row is None:
        raise NotFound()
    return office_info(row)


async def office_for(ctx: RenderContext, office_id: int) -> OfficeInfo:
    """The office of a notice's subject (the shared lookup, in the render's transaction)."""
    try:
        return await office_of(ctx.rt, office_id, ctx.session)
    except NotFound:
        raise SubjectGone("office gone") from None
