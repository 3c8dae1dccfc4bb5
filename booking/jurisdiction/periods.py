"""The policy periods, cached in-process for the booking hot path.

Every booking asks ``assess``; reading the periods from the database each time would add
a round trip to the hottest write. They change a few times a decade, so each process
keeps them for ``ttl_seconds``; an admin's edit drops this process's copy at once, other
processes (API replicas, workers) see it within two TTLs (refreshed ahead).
"""

from __future__ import annotations

from sqlalchemy import select

from booking.db.engine import Database
from booking.db.models import JurisdictionArea, JurisdictionPeriod
from booking.jurisdiction.policy import OfficeArea, Period
from booking.kernel.ttl import TtlCache
from booking.offices.directory import OfficeInfo

DEFAULT_TTL_SECONDS = 30.0


def period_of(row: JurisdictionPeriod, areas: list[tuple[str, str]]) -> Period:
    return Period(id=row.id, code=row.code, effective_from=row.effective_from, effective_to=row.effective_to,
                  rule=row.rule, documents_local=tuple(row.documents_local),
                  documents_nonlocal=tuple(row.documents_nonlocal), prereview=row.prereview,
                  areas=frozenset(areas))


class PolicyBook:
    def __init__(self, db: Database, ttl_seconds: float = DEFAULT_TTL_SECONDS) -> None:
        self._db = db
        # one load at a time, however many requests want it; refreshed ahead (``TtlCache``)
        self._entry: TtlCache[None, tuple[Period, ...]] = TtlCache(ttl_seconds, max_entries=1,
                                                                   stale_seconds=ttl_seconds)

    async def periods(self) -> tuple[Period, ...]:
        return await self._entry.get_or_load(None, self._load)

    async def reload(self) -> tuple[Period, ...]:
        """Read the periods now (before a release moment)."""
        return await self._entry.reload(None, self._load)

    async def _load(self) -> tuple[Period, ...]:
        async with self._db.session() as session:
            rows = (await session.execute(select(JurisdictionPeriod).order_by(JurisdictionPeriod.id))).scalars().all()
            areas: dict[int, list[tuple[str, str]]] = {}
            for period_id, service, code in (await session.execute(
                    select(JurisdictionArea.period_id, JurisdictionArea.service, JurisdictionArea.area_code))).all():
                areas.setdefault(period_id, []).append((service, code))
        return tuple(period_of(row, areas.get(row.id or 0, [])) for row in rows)

    def forget(self) -> None:
        self._entry.forget()


def office_area(office: OfficeInfo) -> OfficeArea:
    return OfficeArea(office.province_code, office.division_code, office.rules.prereview_nonlocal)
