"""A release's slots read before its moment, so that the moment's bookings find them cached.

At 08:30 a day's slots are released (``BookingRules.release_moment``) and thousands of
couples press "book" within the same second. Each booking validates against the slot's
fixed facts (``SlotFactsCache``): without this, the first request for each slot reads
them, and every request of the first wave waits for that read before its own write.
Each API process reads, ``BOOKING_RELEASE_PREFETCH_SECONDS`` before each office's next
release moment, the facts of the slots that moment releases: one query for all offices
releasing then. Only facts that never change are read (office, service, date, times);
seats and open/closed are always the write's to check.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from booking.db.models import Office
from booking.offices.rules import rules_of
from booking.runtime import Runtime

logger = logging.getLogger("booking.slots.release")

CHECK_EVERY_SECONDS = 30.0


async def releasing_soon(rt: Runtime, now: datetime, lead: timedelta) -> list[tuple[int, date]]:
    """(office, local date) of each active office's next released day whose release moment
    falls within ``lead`` from ``now``."""
    async with rt.db.session() as session:
        offices = (await session.execute(
            select(Office.id, Office.timezone, Office.rules).where(Office.is_active))).all()
    soon = []
    for office_id, timezone, raw_rules in offices:
        rules, tz = rules_of(raw_rules), ZoneInfo(timezone)
        day = rules.last_released_date(now.astimezone(tz)) + timedelta(days=1)
        if rules.release_moment(day, tz) - now <= lead:
            soon.append((office_id, day))
    return soon


async def prefetch_once(rt: Runtime, done: set[tuple[int, date]]) -> int:
    """Read the facts of the slots released within the lead time that were not read yet;
    returns how many slots. A day without slots yet is asked again at the next check (its
    slots may still be generated)."""
    lead = timedelta(seconds=rt.settings.release_prefetch_seconds)
    days = [d for d in await releasing_soon(rt, rt.clock.now(), lead) if d not in done]
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
    while True:
        try:
            await prefetch_once(rt, done)
        except Exception as exc:  # noqa: BLE001 - a missed prefetch only costs the first wave a read
            logger.warning("release prefetch failed", extra={"error": type(exc).__name__})
        await asyncio.sleep(CHECK_EVERY_SECONDS)
