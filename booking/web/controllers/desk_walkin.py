"""``/desk/walk-in``: book a couple who came without an appointment into a free slot of
today, as the API's ``POST /api/v1/offices/{id}/appointments`` does (``book`` with
``counter_office``: the same rules, no account, audited; the form's idempotency key makes a
double tap one booking)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency

from booking.appointments.schemas import AppointmentCreate
from booking.appointments.services.book import book
from booking.context import Context
from booking.errors import Problem
from booking.i18n import lazy
from booking.schemas import as_json
from booking.slots.services import list_slots
from booking.web.forms import PARTIES_SHOWN, FormState, idempotency_key, parse, posted, refused, unflatten
from booking.web.pages import NOTICES, note_outcome, redirect
from booking.web.staff import Desk, OfficeParam, desk_for, desk_page

NOTICES.update({"desk-walk-in": lazy("The walk-in couple is booked.")})
FIELDS = ("slot_id", "service", "parties")
SHOWN = ("slot_id", *PARTIES_SHOWN)


async def free_today(ctx: Context, desk: Desk) -> list[Any]:
    """Today's open slots with a place left that have not ended (the clerk's slot list)."""
    assert desk.office is not None
    now = ctx.now
    today = now.astimezone(desk.office.tz).date()
    slots = await list_slots(ctx, desk.office_id, today, today, None)
    return [s for s in slots if s.status == "open" and s.booked < s.capacity and s.ends_at > now]


class DeskWalkInPages(Controller):
    path = "/desk/walk-in"

    @get("/", name="desk-walk-in")
    async def form(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                   office: OfficeParam = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/walk-in")
        return await _page(request, ctx, desk, FormState())

    @post("/", name="desk-walk-in-post")
    async def book(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                   office: OfficeParam = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/walk-in")
        form = await posted(request)
        try:
            slot_id = str(form.get("slot_id") or "")
            service = next((s.service for s in await free_today(ctx, desk) if str(s.id) == slot_id),
                           None)
            data = parse(AppointmentCreate, unflatten({**form, "service": service or "marriage_registration"}, FIELDS))
            # the booking writes on its own connection: end this one's read first (SQLite
            # would make the write wait for it)
            await ctx.session.rollback()
            _status, body = await book(ctx.rt, desk.principal, data, key=idempotency_key(form),
                                       locale=ctx.locale, counter_office=desk.office_id)
            body = as_json(body)
        except Problem as problem:
            await ctx.session.rollback()
            note_outcome(request, problem=problem)
            return await _page(request, ctx, desk, refused(problem, form, SHOWN),
                               status_code=problem.status)
        note_outcome(request, status=body["status"])
        return redirect(request, desk.href("/desk/check-in", code=body["code"]), notice="desk-walk-in")


async def _page(request: Request[Any, Any, Any], ctx: Context, desk: Desk, form: FormState, *,
                status_code: int = 200) -> Response[Any]:
    return desk_page(request, "desk/walk_in.html", desk, status_code=status_code, form=form, key=form.key(),
                     slots=await free_today(ctx, desk))
