"""Subscribable calendars behind secret URLs: a couple's own appointments, and an office's
roster for its clerks. The token is shown once; only its hash is stored; revoking it
ends the feed at once. Every read re-checks the feed's owner: a deactivated account's feeds,
and a clerk's roster feed of an office they no longer belong to, answer 404."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select, update

from booking.accounts.principal import Principal
from booking.appointments.invites import appointment_event
from booking.calendar.ics import CalendarEvent, build_calendar, uid_for
from booking.context import Context
from booking.db.models import Appointment, CalendarFeed, Office, UserAccount
from booking.errors import Forbidden, NotFound, invalid
from booking.i18n import gettext, lazy
from booking.kernel.audit import record
from booking.kernel.catalog import service_title
from booking.kernel.codes import display_code
from booking.offices.directory import office_info

ROSTER_PAST = timedelta(days=7)
ROSTER_AHEAD = timedelta(days=60)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_feed(ctx: Context, kind: str, office_id: int | None) -> tuple[CalendarFeed, str]:
    session, actor, now = ctx.session, ctx.caller, ctx.now
    if kind == "couple":
        if not actor.is_couple:
            raise Forbidden()
        office_id = None
    else:
        if actor.is_couple:
            raise Forbidden()
        if office_id is None:
            raise invalid("office_id", lazy("This field is required."))
        actor.require_office(office_id)
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(kind=kind, owner_id=actor.id, office_id=office_id, token_hash=token_hash(token),
                        created_at=now)
    session.add(feed)
    if kind == "roster":
        record(session, actor, "calendar_feed.create", target_type="calendar_feed", target_id=feed.id,
               office_id=office_id, at=now)
    await session.commit()
    return feed, token


async def list_feeds(ctx: Context) -> list[CalendarFeed]:
    session, actor = ctx.session, ctx.caller
    rows = await session.execute(select(CalendarFeed).where(CalendarFeed.owner_id == actor.id,
                                                            CalendarFeed.revoked_at.is_(None))  # type: ignore[union-attr]
                                 .order_by(CalendarFeed.created_at))
    return list(rows.scalars().all())


async def revoke_feed(ctx: Context, feed_id: uuid.UUID) -> None:
    session, actor, now = ctx.session, ctx.caller, ctx.now
    feed = await session.get(CalendarFeed, feed_id)
    if feed is None or feed.revoked_at is not None or (feed.owner_id != actor.id and not (
            feed.office_id is not None and not actor.is_couple and actor.manages_office(feed.office_id))):
        raise NotFound()
    await session.execute(update(CalendarFeed).where(CalendarFeed.id == feed_id).values(revoked_at=now))
    if feed.kind == "roster":
        record(session, actor, "calendar_feed.revoke", target_type="calendar_feed", target_id=feed_id,
               office_id=feed.office_id, at=now)
    await session.commit()


def owner_may_read(feed: CalendarFeed, owner: UserAccount | None) -> bool:
    """The owner still holds the rights the feed was made with (read on every request)."""
    if owner is None or not owner.is_active:
        return False
    if feed.kind == "couple":
        return owner.role == "couple"
    return Principal(owner.id, owner.role, owner.office_id).manages_office(feed.office_id)


async def render_feed(ctx: Context, token: str) -> bytes:
    rt, session, locale = ctx.rt, ctx.session, ctx.locale
    feed = (await session.execute(select(CalendarFeed).where(CalendarFeed.token_hash == token_hash(token))))\
        .scalar_one_or_none()
    if feed is None or feed.revoked_at is not None or not owner_may_read(feed, await session.get(
            UserAccount, feed.owner_id)):
        raise NotFound()
    now = rt.clock.now()
    if feed.kind == "couple":
        appts = list((await session.execute(
            select(Appointment).where(Appointment.account_id == feed.owner_id,
                                      Appointment.starts_at > now - ROSTER_PAST)
            .order_by(Appointment.starts_at))).scalars().all())
        offices = {o.id: office_info(o) for o in (await session.execute(
            select(Office).where(Office.id.in_({a.office_id for a in appts})))).scalars()}  # type: ignore[union-attr]
        events = [appointment_event(a, offices[a.office_id], rt.settings, locale, None) for a in appts]
        name = gettext("My marriage registration appointments", locale)
    else:
        office_row = await session.get(Office, feed.office_id)
        if office_row is None:
            raise NotFound()
        office = office_info(office_row)
        appts = list((await session.execute(
            select(Appointment).where(Appointment.office_id == office.id,
                                      Appointment.starts_at > now - ROSTER_PAST,
                                      Appointment.starts_at < now + ROSTER_AHEAD,
                                      Appointment.status != "cancelled")
            .order_by(Appointment.starts_at))).scalars().all())
        # a roster in someone's phone calendar: codes and services, no names or numbers
        events = [CalendarEvent(
            uid=uid_for("roster", a.id), sequence=a.sequence, start=a.starts_at, end=a.ends_at,
            timezone=office.timezone,
            summary=f"{display_code(a.code)} · {service_title(a.service, locale)} · {a.status}",
            location=office.address(locale), status="TENTATIVE" if a.status == "pending_review" else "CONFIRMED",
        ) for a in appts]
        name = gettext("Roster of {office}", locale).format(office=office.name(locale))
    return build_calendar(events, method="PUBLISH", stamp=now, name=name)
