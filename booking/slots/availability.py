"""The hottest read: which slots of an office a couple can book right now.

Only released days (booking window and daily release time), only slots whose cut-off has
not passed, only open slots; each with what remains. The date bounds are computed here in
the office's timezone, so the query is a plain range scan on ``ix_slot_availability``. On
PostgreSQL it runs as one statement on the raw driver connection and the rows are encoded
straight to JSON bytes; a one-second in-process cache absorbs refresh storms (the booking
itself re-checks capacity in its own transaction, so a cached count is never trusted).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy import select

from booking.db.engine import Database, hot_statement
from booking.db.models import Slot
from booking.errors import NotFound, invalid
from booking.i18n import lazy
from booking.kernel.ttl import MISSING, TtlCache
from booking.offices.directory import OfficeDirectory

MAX_SPAN_DAYS = 92

PG_AVAILABILITY = hot_statement("""
SELECT id, starts_at, ends_at, capacity, booked
FROM slot
WHERE office_id = $1 AND service = $2 AND local_date BETWEEN $3 AND $4
  AND starts_at > $5 AND status = 'open'
ORDER BY starts_at, id
""")

_encoder = msgspec.json.Encoder()


class AvailabilityReader:
    def __init__(self, db: Database, directory: OfficeDirectory, cache_seconds: float = 1.0) -> None:
        self._db = db
        self._directory = directory
        self._cache_seconds = cache_seconds
        self._cache: TtlCache[tuple[Any, ...], bytes] = TtlCache(cache_seconds)

    async def read(self, office_id: int, service: str, start: date | None, end: date | None, now: datetime) -> bytes:
        office = await self._directory.get(office_id)
        if office is None:
            raise NotFound()
        if service not in office.services:
            raise invalid("service", lazy("The office does not offer this service."))
        if start is not None and end is not None and end < start:
            raise invalid("to", lazy("The end date must not be before the start date."))
        now_local = now.astimezone(office.tz)
        first = max(start or now_local.date(), office.rules.first_bookable_date(now_local))
        last = office.rules.last_released_date(now_local)
        if end is not None:
            last = min(end, last)
        if start is not None and end is not None and (end - start).days > MAX_SPAN_DAYS:
            raise invalid("to", lazy("At most {days} days at a time.", days=MAX_SPAN_DAYS))

        key = (office_id, service, first, last)
        if self._cache_seconds > 0:
            hit = self._cache.get(key)
            if hit is not MISSING:
                return hit  # type: ignore[return-value]

        rows = await self._fetch(office_id, service, first, last, now) if first <= last else []
        tz = office.tz
        body = _encoder.encode({
            "office_id": office_id,
            "service": service,
            "timezone": office.timezone,
            "data": [
                {"slot_id": r[0], "starts_at": r[1].astimezone(tz), "ends_at": r[2].astimezone(tz),
                 "capacity": r[3], "remaining": r[3] - r[4]}
                for r in rows
            ],
        })
        if self._cache_seconds > 0:
            self._cache.put(key, body)
        return body

    async def _fetch(self, office_id: int, service: str, first: date, last: date, now: datetime) -> list[Any]:
        if self._db.is_postgres:
            async with self._db.raw() as conn:
                return await conn.fetch(PG_AVAILABILITY, office_id, service, first, last, now)  # type: ignore[no-any-return]
        async with self._db.session() as session:
            result = await session.execute(
                select(Slot.id, Slot.starts_at, Slot.ends_at, Slot.capacity, Slot.booked)
                .where(Slot.office_id == office_id, Slot.service == service,
                       Slot.local_date >= first, Slot.local_date <= last,
                       Slot.starts_at > now, Slot.status == "open")
                .order_by(Slot.starts_at, Slot.id)
            )
            return list(result.all())


