"""What never changes about a slot (office, service, date, times), cached per process.

The booking hot path needs these to validate a request (release window, cut-off, the
parties' ages on the date) before its single write. Capacity, bookings and open/closed
change and are never taken from here: the write checks them itself.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, tuple_

from booking.db.engine import Database, hot_statement
from booking.db.models import Slot
from booking.kernel.ttl import TtlCache


@dataclass(frozen=True, slots=True)
class SlotFacts:
    id: int
    office_id: int
    service: str
    local_date: date
    starts_at: datetime
    ends_at: datetime


_PG_FACTS = hot_statement("SELECT id, office_id, service, local_date, starts_at, ends_at FROM slot WHERE id = $1")

class SlotFactsCache:
    def __init__(self, db: Database, ttl_seconds: float = 300.0, max_entries: int = 50_000) -> None:
        self._db = db
        self._entries: TtlCache[int, SlotFacts | None] = TtlCache(ttl_seconds, max_entries)

    async def get(self, slot_id: int) -> SlotFacts | None:
        # an unknown id is remembered only briefly: it may be created by the next generation
        return await self._entries.get_or_load(slot_id, lambda: self._load(slot_id),
                                               lambda facts: None if facts else 2.0)

    async def preload(self, days: list[tuple[int, date]]) -> dict[tuple[int, date], int]:
        """Cache the facts of every slot of these (office, local date) pairs, in one query
        (a release's slots, shortly before its moment); returns how many each pair had."""
        if not days:
            return {}
        async with self._db.session() as session:
            rows = (await session.execute(
                select(Slot.id, Slot.office_id, Slot.service, Slot.local_date, Slot.starts_at, Slot.ends_at)
                .where(tuple_(Slot.office_id, Slot.local_date).in_(days)))).all()
        found: Counter[tuple[int, date]] = Counter()
        for row in rows:
            facts = SlotFacts(*row)  # type: ignore[arg-type]
            self._entries.put(facts.id, facts)
            found[(facts.office_id, facts.local_date)] += 1
        return dict(found)

    async def _load(self, slot_id: int) -> SlotFacts | None:
        if self._db.is_postgres:
            async with self._db.raw() as conn:
                row = await conn.fetchrow(_PG_FACTS, slot_id)
            return SlotFacts(*row) if row else None
        async with self._db.session() as session:
            row = (await session.execute(
                select(Slot.id, Slot.office_id, Slot.service, Slot.local_date, Slot.starts_at, Slot.ends_at)
                .where(Slot.id == slot_id))).first()
            return SlotFacts(*row) if row else None  # type: ignore[arg-type]
