"""Peak days as the API lists them: the national ones merged with offices' own dates, and
how each office books them (a ballot, or first come at the normal release)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.context import Context
from booking.db.models import Ballot, OfficePeakDay
from booking.db.unique import flush_or
from booking.errors import Conflict, NotFound, invalid
from booking.i18n import lazy
from booking.kernel.audit import record
from booking.peakdays.calendar import OFFICE, national_peak_days
from booking.peakdays.schemas import PeakDayCreate

MAX_SPAN_DAYS = 731
# the national peak days are dates in China: "today" for the listing is China's
CHINA = ZoneInfo("Asia/Shanghai")


class PeakDayExists(Conflict):
    code = "peak-day-exists"
    title = lazy("This date is already one of the office's peak days.")


def check_span(start: date, end: date) -> None:
    if end < start:
        raise invalid("to", lazy("The end date must not be before the start date."))
    if (end - start).days > MAX_SPAN_DAYS:
        raise invalid("to", lazy("At most {days} days at a time.", days=MAX_SPAN_DAYS))


async def is_peak_day(session: AsyncSession, office_id: int, day: date) -> bool:
    if national_peak_days(day, day):
        return True
    found = await session.execute(select(OfficePeakDay.id).where(OfficePeakDay.office_id == office_id,
                                                                 OfficePeakDay.day == day))
    return found.first() is not None


async def peak_days(session: AsyncSession, start: date, end: date, locale: str,
                    office_id: int | None = None) -> list[dict[str, Any]]:
    """Each peak day from ``start`` to ``end``: its names (in ``locale``), its kinds, the
    offices that made it theirs, and the ballots that allot it (of ``office_id`` only, when
    given; then ``booking`` also says how that office books the day)."""
    days: dict[date, dict[str, Any]] = {}

    def entry(day: date) -> dict[str, Any]:
        return days.setdefault(day, {"date": day.isoformat(), "names": [], "kinds": [], "office_ids": [],
                                     "ballots": []})

    for national in national_peak_days(start, end):
        found = entry(national.day)
        found["names"].append(national.name(locale))
        found["kinds"].append(national.kind)
    own = select(OfficePeakDay).where(OfficePeakDay.day >= start, OfficePeakDay.day <= end)
    if office_id is not None:
        own = own.where(OfficePeakDay.office_id == office_id)
    for row in (await session.execute(own.order_by(OfficePeakDay.day, OfficePeakDay.office_id))).scalars():
        found = entry(row.day)
        name = row.name_en if not locale.startswith("zh") and row.name_en else row.name_zh
        if name not in found["names"]:
            found["names"].append(name)
        if OFFICE not in found["kinds"]:
            found["kinds"].append(OFFICE)
        found["office_ids"].append(row.office_id)
    ballots = select(Ballot).where(Ballot.day.in_(list(days)))  # type: ignore[attr-defined]
    if office_id is not None:
        ballots = ballots.where(Ballot.office_id == office_id)
    for ballot in (await session.execute(ballots.order_by(Ballot.office_id, Ballot.service))).scalars():
        days[ballot.day]["ballots"].append({
            "ballot_id": str(ballot.id), "office_id": ballot.office_id, "service": ballot.service,
            "links": {"self": f"/api/v1/ballots/{ballot.id}"}})
    listed = [days[d] for d in sorted(days)]
    if office_id is not None:
        for found in listed:
            found["booking"] = "ballot" if found["ballots"] else "first_come"
    return listed


def default_range(today: date, start: date | None, end: date | None) -> tuple[date, date]:
    start = start or today
    return start, end or start + timedelta(days=365)


async def add_office_peak_day(ctx: Context, office_id: int,
                              data: PeakDayCreate) -> OfficePeakDay:
    session, principal = ctx.session, ctx.caller
    principal.require_office(office_id)
    row = OfficePeakDay(office_id=office_id, day=data.date, name_zh=data.name_zh, name_en=data.name_en or "")
    session.add(row)
    await flush_or(session, PeakDayExists())
    record(session, principal, "peak_day.add", target_type="office_peak_day", target_id=data.date.isoformat(),
           office_id=office_id)
    await session.commit()
    return row


async def remove_office_peak_day(ctx: Context, office_id: int, day: date) -> None:
    """The date stops being the office's own peak day; a ballot already set up stays."""
    session, principal = ctx.session, ctx.caller
    principal.require_office(office_id)
    gone = await session.execute(delete(OfficePeakDay).where(OfficePeakDay.office_id == office_id,
                                                             OfficePeakDay.day == day).returning(OfficePeakDay.id))
    if gone.first() is None:
        raise NotFound()
    record(session, principal, "peak_day.remove", target_type="office_peak_day", target_id=day.isoformat(),
           office_id=office_id)
    await session.commit()
