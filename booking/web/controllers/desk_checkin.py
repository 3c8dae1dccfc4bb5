"""``/desk/check-in``: find a couple's appointment by its booking code and act on it.

The code arrives typed, from a handheld scanner (which types it and Enter: the form is
submitted) or from the phone camera (``static/desk.js``: ``BarcodeDetector`` where the
browser has it, else the button is not shown). The appointment opens with its details
masked (the API's ``get_appointment``) and the actions its status allows: check in,
complete, turn away with a reason, reveal with a reason (audited). With "check in as soon
as the code is read" ticked, a found confirmed appointment is checked in at once (the API's
``POST /offices/{id}/check-in``: ``find_by_code`` then ``check_in``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from booking.appointments.schemas import RevealIn, TurnAwayIn
from booking.appointments.services import desk as counter
from booking.appointments.services.reads import get_appointment
from booking.context import Context
from booking.errors import NotFound, Problem
from booking.i18n import lazy
from booking.kernel.codes import display_code, normalise_code
from booking.schemas import CheckInIn, as_json
from booking.web.forms import FormState, parse, posted, refused
from booking.web.pages import NOTICES, redirect
from booking.web.staff import Desk, OfficeParam, desk_for, desk_page

NOTICES.update({
    "desk-checked-in": lazy("Checked in."),
    "desk-completed": lazy("The registration is recorded as done."),
    "desk-turned-away": lazy("The couple is turned away; their seat is free again."),
    "desk-no-show": lazy("Marked as missed."),
})
Code = Annotated[str | None, QueryParameter(name="code", max_length=40)]
ACTIONS = ("check-in", "complete", "turn-away", "no-show", "reveal")


class NoSuchCode(NotFound):
    title = lazy("No appointment with this code at this office.")

    def __init__(self) -> None:
        super().__init__(errors=[{"field": "code", "message": self.title}])


async def _open(ctx: Context, desk: Desk, code: str) -> dict[str, Any]:
    """The appointment of the code at this desk's office (another office's: not found)."""
    try:
        data = parse(CheckInIn, {"code": code.strip()})
        appointment_id = await counter.find_by_code(ctx, desk.office_id, data.code)
    except Problem:  # a malformed code, or none at this office: the same answer
        raise NoSuchCode() from None
    return as_json(await get_appointment(ctx, appointment_id))


class DeskCheckInPages(Controller):
    path = "/desk/check-in"

    @get("/", name="desk-check-in")
    async def show(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                   office: OfficeParam = None, code: Code = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/check-in")
        return await _page(request, ctx, desk, code, FormState(), auto=request.query_params.get(
            "auto") == "1")

    @post("/", name="desk-check-in-find")
    async def find(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                   office: OfficeParam = None) -> Response[Any]:
        """The code typed or scanned; with ``auto`` a confirmed appointment is checked in at once."""
        desk = await desk_for(request, ctx, office, "/desk/check-in")
        form = await posted(request)
        code, auto = str(form.get("code") or ""), form.get("auto") == "on"
        try:
            appointment = await _open(ctx, desk, code)
            if auto and appointment["status"] == "confirmed":
                await counter.check_in(ctx, uuid.UUID(appointment["id"]))
                return redirect(request, desk.href("/desk/check-in", code=appointment["code"], auto="1"),
                                notice="desk-checked-in")
        except Problem as problem:
            await ctx.session.rollback()
            return await _page(request, ctx, desk, None, refused(problem, form, ("code",)),
                               auto=auto, status_code=problem.status)
        return redirect(request, desk.href("/desk/check-in", code=appointment["code"], auto="1" if auto else None))

    @post("/{appointment_id:uuid}/{action:str}", name="desk-check-in-action")
    async def act(self, request: Request[Any, Any, Any], appointment_id: FromPath[uuid.UUID], action: FromPath[str],
                  ctx: NamedDependency[Context], office: OfficeParam = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/check-in")
        if action not in ACTIONS:
            raise NotFound()
        form = await posted(request)
        # the services check the office (404 for another office's appointment), as for the API
        appointment = await get_appointment(ctx, appointment_id)
        appointment = as_json(appointment)
        if appointment["office_id"] != desk.office_id:
            raise NotFound()
        try:
            if action == "check-in":
                await counter.check_in(ctx, appointment_id)
            elif action == "complete":
                await counter.complete(ctx, appointment_id)
            elif action == "no-show":
                await counter.mark_no_show(ctx, appointment_id)
            elif action == "turn-away":
                reason = parse(TurnAwayIn, {"reason": form.get("reason") or ""}).reason
                await counter.turn_away(ctx, appointment_id, reason)
            else:
                reason = parse(RevealIn, {"reason": form.get("reveal_reason") or ""}).reason
                revealed = await counter.reveal(ctx, appointment_id, reason)
                return await _page(request, ctx, desk, appointment["code"], FormState(),
                                   revealed=revealed)
        except Problem as problem:
            await ctx.session.rollback()
            shown = ("reason",) if action == "turn-away" else ("reveal_reason",) if action == "reveal" else ()
            if action == "reveal":
                for error in problem.errors or []:
                    if error.get("field") == "reason":
                        error["field"] = "reveal_reason"
            return await _page(request, ctx, desk, appointment["code"], refused(problem, form, shown),
                               status_code=problem.status)
        notice = {"check-in": "desk-checked-in", "complete": "desk-completed", "turn-away": "desk-turned-away",
                  "no-show": "desk-no-show"}[action]
        return redirect(request, desk.href("/desk/check-in", code=appointment["code"]), notice=notice)


async def _page(request: Request[Any, Any, Any], ctx: Context, desk: Desk, code: str | None, form: FormState,
                *, auto: bool = False, status_code: int = 200,
                revealed: Any = None) -> Response[Any]:
    appointment = None
    if code:
        try:
            appointment = await _open(ctx, desk, code)
        except Problem as problem:
            form = refused(problem, {"code": code}, ("code",))
            status_code = problem.status
    today = ctx.now.astimezone(desk.office.tz).date() if desk.office else None
    on_the_day = appointment is not None and today is not None and \
        appointment["starts_at"][:10] == today.isoformat()
    started = appointment is not None and datetime.fromisoformat(appointment["starts_at"]) <= ctx.now
    return desk_page(request, "desk/check_in.html", desk, status_code=status_code, form=form, auto=auto,
                     appointment=appointment, on_the_day=on_the_day, revealed=revealed, started=started,
                     shown_code=display_code(normalise_code(code)) if code and appointment else "")
