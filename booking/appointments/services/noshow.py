"""The no-show ban, the office's ``NoShowPolicy``:

    N no-shows within W days => no booking for B days from the last of them.

(N = ``limit``, W = ``window_days``, B = ``ban_days``.) A person is banned while some N of
their no-shows lie within W days of each other and the last of those N is less than B days
ago. Counting back from today instead would lift the ban as soon as the first of the N
drops out of the window, days before the B days are over.

On PostgreSQL the rule has one statement, ``banned_sql``: the single-statement booking
write embeds it, and ``bans`` (which tells a refused couple when their ban ends, and checks
a divorce's parties) runs it. SQLite (the embedded default) has no ``make_interval``: there
``bans`` applies ``ban_ends``, the same rule in Python, beside it here;
``tests/appointments/test_no_show_rule.py`` holds the two to each other. Only no-shows after
``lookback`` can matter: the last of the N ended its B days before.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import Appointment, AppointmentParty
from booking.offices.rules import NoShowPolicy


def lookback(policy: NoShowPolicy, now: datetime) -> datetime:
    return now - timedelta(days=policy.window_days + policy.ban_days)


def ban_ends(times: Iterable[datetime], policy: NoShowPolicy, now: datetime) -> datetime | None:
    """When the ban of one person ends, given their no-shows (their appointments' starts),
    or None when they are not banned at ``now``."""
    ordered = sorted(times)
    n, window, ban = policy.limit, timedelta(days=policy.window_days), timedelta(days=policy.ban_days)
    ends = None
    for last in range(n - 1, len(ordered)):
        if ordered[last] - ordered[last - n + 1] <= window:
            ends = ordered[last] + ban  # ascending: the latest qualifying no-show wins
    return ends if ends is not None and ends > now else None


def banned_sql(hashes: str, now: str, limit: str, window_days: str, ban_days: str) -> str:
    """The id hashes among ``hashes`` that are banned at ``now``, a row for each N no-shows
    that ban them, with the end of that ban (``ends``): the rule as a query over the
    no-shows (arguments are SQL expressions, e.g. ``$24::text[]``)."""
    # From each person to their own appointments (a few rows through the party's id_hash
    # index), never from the no-shows of everyone. ``OFFSET 0`` keeps the lateral subquery
    # from being pulled up into a join: pulled up, a generic plan cached while the tables
    # were small (or not analyzed yet) hashed the hashes against a scan of every party,
    # and kept doing so as the table grew (measured: 0.7 to 2.8 ms of backend CPU per
    # booking over 9,000 bookings). Run per hash, it can only be an index lookup; and each
    # of the person's appointments is then read by its primary key, never by a scan.
    return f"""
    SELECT id_hash, starts_at + make_interval(days => {ban_days}) AS ends FROM (
        SELECT h.id_hash, x.starts_at,
               lag(x.starts_at, {limit} - 1) OVER (PARTITION BY h.id_hash ORDER BY x.starts_at) AS first_of_n
        FROM unnest({hashes}) AS h(id_hash), LATERAL (
            SELECT a.starts_at FROM appointment_party p, LATERAL (
                SELECT a.status, a.starts_at FROM appointment a WHERE a.id = p.appointment_id OFFSET 0) a
            WHERE p.id_hash = h.id_hash AND a.status = 'no_show'
              AND a.starts_at > {now} - make_interval(days => {window_days} + {ban_days})
            OFFSET 0) x
    ) n
    WHERE first_of_n >= starts_at - make_interval(days => {window_days})
      AND starts_at + make_interval(days => {ban_days}) > {now}"""


async def no_show_times(session: AsyncSession, id_hashes: list[str], since: datetime) -> dict[str, list[datetime]]:
    """The starts of each person's no-shows after ``since`` (one query)."""
    rows = await session.execute(
        select(AppointmentParty.id_hash, Appointment.starts_at)
        .join(Appointment, Appointment.id == AppointmentParty.appointment_id)
        .where(AppointmentParty.id_hash.in_(id_hashes), Appointment.status == "no_show",  # type: ignore[attr-defined]
               Appointment.starts_at > since))
    found: dict[str, list[datetime]] = {}
    for id_hash, at in rows:
        found.setdefault(id_hash, []).append(at)
    return found


_PG_BANS = text(f"""SELECT id_hash, max(ends) FROM ({banned_sql(
    "CAST(:hashes AS text[])", "CAST(:now AS timestamptz)", "CAST(:limit AS int)", "CAST(:window_days AS int)",
    "CAST(:ban_days AS int)")}) b GROUP BY id_hash""")


async def bans(session: AsyncSession, id_hashes: list[str], policy: NoShowPolicy,
               now: datetime) -> dict[str, datetime]:
    """The banned among these people, with the end of each one's ban."""
    if session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        rows = await session.execute(_PG_BANS, {
            "hashes": id_hashes, "now": now, "limit": policy.limit, "window_days": policy.window_days,
            "ban_days": policy.ban_days})
        return {id_hash: ends for id_hash, ends in rows.all()}
    times = await no_show_times(session, id_hashes, lookback(policy, now))
    found = {h: ban_ends(t, policy, now) for h, t in times.items()}
    return {h: ends for h, ends in found.items() if ends is not None}
