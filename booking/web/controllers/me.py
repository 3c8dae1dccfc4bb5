"""The couple's own pages: their appointments, applications and sign-ups; one appointment
with its code and QR code, the invite, the calendar feed, cancel and reschedule."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from markupsafe import Markup

from booking.applications import services as applications
from booking.appointments.services import changes, reads
from booking.ballots import entries as ballot_entries
from booking.calendar import feeds
from booking.context import Context
from booking.errors import invalid
from booking.events import services as events
from booking.events import signups
from booking.i18n import gettext, lazy
from booking.kernel.codes import display_code, qr_svg
from booking.schemas import as_json
from booking.web import calendar
from booking.web.controllers import divorce as divorce_pages
from booking.web.forms import Again, FormState, posted, submit
from booking.web.pages import page, redirect
from booking.web.session import require_couple

LISTED = 50  # per kind on /me; a couple has a handful


class MyPages(Controller):
    path = "/me"

    @get("/", name="me")
    async def me(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context]) -> Response[Any]:
        require_couple(request, ctx.principal)
        appts, _ = await reads.list_own(ctx, status=None, limit=LISTED, offset=0)
        appts = as_json(appts)
        apps, _ = await applications.list_own(ctx, status=None, limit=LISTED, offset=0)
        apps = as_json(apps)
        mine, _ = await signups.list_own(ctx, limit=LISTED, offset=0)
        mine = as_json(mine)
        entered, _ = await ballot_entries.list_own(ctx, limit=LISTED, offset=0)
        entered = as_json(entered)
        divorces = await divorce_pages.my_cases(ctx)
        events = await _events_of(ctx, mine)
        offices = {i: await ctx.rt.offices.of(i, ctx.session)
                   for i in {a["office_id"] for a in [*appts, *apps, *entered, *divorces]}}
        # newest first: by when each was made
        appts.sort(key=lambda a: a["created_at"], reverse=True)
        return page(request, "me.html", private=True, appointments=appts, applications=apps, signups=mine,
                    entries=entered, events=events, offices=offices, divorces=divorces)

    @post("/ballot-entries/{entry_id:uuid}/withdraw", name="my-ballot-entry-withdraw")
    async def withdraw_entry(self, request: Request[Any, Any, Any], entry_id: FromPath[uuid.UUID],
                             ctx: NamedDependency[Context]) -> Response[Any]:
        """Withdraw a ballot entry (a drawn place is given up: its appointment is cancelled)."""
        require_couple(request, ctx.principal)
        entry = await ballot_entries.withdraw(ctx, entry_id)
        entry = as_json(entry)
        return redirect(request, f"/offices/{entry['office_id']}/ballots/{entry['ballot_id']}#mine",
                        notice="entry-withdrawn")

    @get("/appointments/{appointment_id:uuid}", name="my-appointment")
    async def appointment(self, request: Request[Any, Any, Any], appointment_id: FromPath[uuid.UUID],
                          ctx: NamedDependency[Context]) -> Response[Any]:
        require_couple(request, ctx.principal)
        return await _appointment_page(request, ctx, appointment_id, FormState())

    @get("/appointments/{appointment_id:uuid}/invite.ics", name="my-appointment-invite")
    async def invite(self, request: Request[Any, Any, Any], appointment_id: FromPath[uuid.UUID],
                     ctx: NamedDependency[Context]) -> Response[bytes]:
        require_couple(request, ctx.principal)
        body, method, filename = await reads.invite_file(ctx, appointment_id)
        return Response(body, media_type=f"text/calendar; method={method}", headers={
            "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"})

    @post("/appointments/{appointment_id:uuid}/cancel", name="my-appointment-cancel")
    async def cancel(self, request: Request[Any, Any, Any], appointment_id: FromPath[uuid.UUID],
                     ctx: NamedDependency[Context]) -> Response[Any]:
        require_couple(request, ctx.principal)

        async def act() -> Response[Any]:
            await changes.cancel(ctx, appointment_id)
            return redirect(request, f"/me/appointments/{appointment_id}", notice="cancelled")
        return await submit(ctx, {}, (), act, _again(request, ctx, appointment_id))

    @post("/appointments/{appointment_id:uuid}/reschedule", name="my-appointment-reschedule")
    async def reschedule(self, request: Request[Any, Any, Any], appointment_id: FromPath[uuid.UUID],
                         ctx: NamedDependency[Context]) -> Response[Any]:
        require_couple(request, ctx.principal)
        form = await posted(request)

        async def act() -> Response[Any]:
            raw = form.get("slot_id")
            slot_id = int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) < 10 else 0
            if not slot_id:
                raise invalid("slot_id", lazy("This field is required."))
            await changes.reschedule(ctx, appointment_id, slot_id)
            return redirect(request, f"/me/appointments/{appointment_id}", notice="rescheduled")
        return await submit(ctx, form, ("slot_id",), act, _again(request, ctx, appointment_id))

    @post("/calendar-feed", name="my-calendar-feed")
    async def calendar_feed(self, request: Request[Any, Any, Any],
                            ctx: NamedDependency[Context]) -> Response[Any]:
        """A new secret feed URL of the couple's appointments, shown once (only its hash is kept)."""
        require_couple(request, ctx.principal)
        form = await posted(request)
        _feed, token = await feeds.create_feed(ctx, "couple", None)
        url = f"{ctx.rt.settings.public_base_url.rstrip('/')}/api/v1/calendars/feeds/{token}.ics"
        back = form.get("appointment_id")
        try:
            appointment_id = uuid.UUID(back) if isinstance(back, str) else None
        except ValueError:
            appointment_id = None
        if appointment_id is None:
            return redirect(request, "/me")
        return await _appointment_page(request, ctx, appointment_id, FormState(),
                                       feed_url=url)


def _again(request: Request[Any, Any, Any], ctx: Context, appointment_id: uuid.UUID) -> Again:
    return lambda state, status: _appointment_page(request, ctx, appointment_id, state, status_code=status)


async def _appointment_page(request: Request[Any, Any, Any], ctx: Context, appointment_id: uuid.UUID,
                            form: FormState, *,
                            status_code: int = 200, feed_url: str | None = None) -> Response[Any]:
    appt = await reads.get_appointment(ctx, appointment_id)
    runtime, session, locale = ctx.rt, ctx.session, ctx.locale
    appt = as_json(appt)
    office = await runtime.offices.of(appt["office_id"], session)
    now = ctx.now
    standing = appt["status"] in ("confirmed", "pending_review")
    changeable = standing and now <= office.rules.cancel_deadline(datetime.fromisoformat(appt["starts_at"]))
    moves = []
    if changeable and appt["status"] == "confirmed":
        moves = [(str(s.slot_id), calendar.slot_label(s, office.timezone, locale))
                 for s in await calendar.free_slots(runtime, office.id, appt["service"])
                 if s.remaining > 0 and s.slot_id != appt["slot_id"]]
    qr = Markup(qr_svg(appt["code"], title=gettext("Booking code {code}", locale).format(
        code=display_code(appt["code"]))).decode())
    return page(request, "appointment.html", status_code=status_code, private=True, appt=appt, office=office,
                code=display_code(appt["code"]), qr=qr, standing=standing, changeable=changeable, moves=moves,
                form=form, feed_url=feed_url)


async def _events_of(ctx: Context, mine: list[dict[str, Any]]) -> dict[str, Any]:
    """The events the couple signed up for, by id (title, time, place)."""
    found = {}
    for event_id in {s["event_id"] for s in mine}:
        found[event_id] = await events.get_event(ctx, uuid.UUID(event_id))
    return found
