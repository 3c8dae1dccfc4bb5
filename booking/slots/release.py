"""A release's slots read before its moment, so that the moment's bookings find them cached.

At 08:30 a day's slots are released (``BookingRules.release_moment``) and thousands of
couples press "book" within the same second. Each booking validates against the slot's
fixed facts (``SlotFactsCache``): without this, the first request for each slot reads
them, and every request of the first wave waits for that read before its own write.
Each API process reads, ``BOOKING_RELEASE_PREFETCH_SECONDS`` before each office's next
release moment, the facts of the slots that moment releases: one query for all offices
releasing then. Only facts that never change are read (office, service, date, times);
seats and open/closed are always the write's to check.

The office itself (rules, timezone) and the policy periods are cached for seconds only,
so they are read again ``REFRESH_BEFORE_SECONDS`` before the moment: measured, a first
wave that found its office run out waited ~20 ms behind that one read, every request.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from booking.db.models import Office
from booking.offices.rules import rules_of
from booking.runtime import Runtime

logger = logging.getLogger("booking.slots.release")

CHECK_EVERY_SECONDS = 30.0
REFRESH_BEFORE_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Release:
    office_id: int
    day: date  # the local date released
    moment: datetime


async def releasing_soon(rt: Runtime, now: datetime, lead: timedelta) -> list[Release]:
    """Each active office's next release whose moment falls within ``lead`` from ``now``."""
    async with rt.db.session() as session:
        offices = (await session.execute(
            select(Office.id, Office.timezone, Office.rules).where(Office.is_active))).all()
    soon = []
    for office_id, timezone, raw_rules in offices:
        rules, tz = rules_of(raw_rules), ZoneInfo(timezone)
        day = rules.last_released_date(now.astimezone(tz)) + timedelta(days=1)
        moment = rules.release_moment(day, tz)
        if moment - now <= lead:
            soon.append(Release(office_id, day, moment))
    return soon


async def refresh_before(rt: Runtime, release: Release) -> None:
    """Shortly before ``release``'s moment, read its office and the policy periods again."""
    wait = (release.moment - rt.clock.now()).total_seconds() - REFRESH_BEFORE_SECONDS
    if wait > 0:
        await asyncio.sleep(wait)
    for reload in (lambda: rt.offices.reload(release.office_id), rt.policy.reload):
        try:
            await reload()
        except Exception as exc:  # noqa: BLE001 - a missed refresh only costs the first wave a read
            logger.warning("release refresh failed", extra={"error": type(exc).__name__})


async def prefetch_once(rt: Runtime, done: set[tuple[int, date]],
                        refreshes: dict[tuple[int, date], asyncio.Task[None]] | None = None) -> int:
    """Read the facts of the slots released within the lead time that were not read yet;
    returns how many slots. A day without slots yet is asked again at the next check (its
    slots may still be generated). With ``refreshes``, each release also gets its office
    read again just before its moment (one task per office and day, kept there)."""
    lead = timedelta(seconds=rt.settings.release_prefetch_seconds)
    soon = await releasing_soon(rt, rt.clock.now(), lead)
    if refreshes is not None:
        for release in soon:
            key = (release.office_id, release.day)
            if key not in refreshes:
                refreshes[key] = asyncio.create_task(refresh_before(rt, release), name="booking-release-refresh")
        if len(refreshes) > 10_000:  # one per office and day: bounded, and past days are useless
            for key in [k for k, task in refreshes.items() if task.done()]:
                del refreshes[key]
    days = [(r.office_id, r.day) for r in soon if (r.office_id, r.day) not in done]
    found = await rt.slot_facts.preload(days)
    if found:
        logger.info("release slots read ahead", extra={"days": len(found), "slots": sum(found.values())})
    done.update(found)
    if len(done) > 100_000:  # one entry per office and day: bounded, and past days are useless
        done.clear()
    return sum(found.values())


async def prefetch_releases(rt: Runtime) -> None:
    """The API process's loop (``booking.background.lifespan``)."""
    done: set[tuple[int, date]] = set()
    refreshes: dict[tuple[int, date], asyncio.Task[None]] = {}
    try:
        while True:
            try:
                await prefetch_once(rt, done, refreshes)
            except Exception as exc:  # noqa: BLE001 - a missed prefetch only costs the first wave a read
                logger.warning("release prefetch failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(CHECK_EVERY_SECONDS)
    finally:
        for task in refreshes.values():
            task.cancel()
