"""When reminders go out, for appointments and sign-ups alike: the day before at the
office's reminder hour (in the local time of the place), and never late."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

# how late a reminder may still go out; after that it is dropped (never after the start)
DAY_BEFORE_GRACE = timedelta(hours=3)
HOURS_BEFORE_GRACE = timedelta(minutes=45)


def day_before(starts_at: datetime, tz: ZoneInfo, at: time) -> datetime:
    """The day before ``starts_at`` (its local date in ``tz``), at ``at`` local time."""
    return datetime.combine(starts_at.astimezone(tz).date() - timedelta(days=1), at, tzinfo=tz)


def day_before_deadline(starts_at: datetime, moment: datetime) -> datetime:
    """The latest a day-before reminder due at ``moment`` may still be sent."""
    return min(starts_at, moment + DAY_BEFORE_GRACE)


def hours_before_deadline(starts_at: datetime, moment: datetime) -> datetime:
    return min(starts_at, moment + HOURS_BEFORE_GRACE)
