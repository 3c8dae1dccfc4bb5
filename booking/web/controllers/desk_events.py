"""``/desk/events``: the office's wedding events (集体婚礼, charity and memorial weddings).

Create and edit (the API's ``services.create_event`` / ``update_event``: a bigger capacity
promotes from the waitlist there), the sign-ups by state with the organiser's actions
(approve, reject, cancel: a cancelled place goes to the waitlist at once, in
``signups.cancel``; attendance), check-in by code on the day (``desk.check_in``) and the
masked CSV export (``desk.export_csv``, audited). Times are typed in the office's timezone.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from booking.context import Context
from booking.errors import NotFound
from booking.events import desk as organiser
from booking.events import services, signups
from booking.events.schemas import EventCreate, EventUpdate, SignupCancelIn, SignupDecisionIn
from booking.i18n import lazy
from booking.schemas import CheckInIn, as_json
from booking.web.forms import Again, FormState, idempotency_key, parse, posted, submit
from booking.web.pages import NOTICES, redirect
from booking.web.staff import Desk, OfficeParam, desk_for, desk_page, office_moments

NOTICES.update({
    "event-created": lazy("The event is published."),
    "event-saved": lazy("The event is saved."),
    "signup-approved": lazy("The sign-up is approved."),
    "signup-rejected": lazy("The sign-up is rejected; its place went to the waitlist."),
    "signup-cancelled-by-office": lazy("The sign-up is cancelled; its place went to the waitlist."),
    "signup-attended": lazy("Marked as attended."),
    "signup-no-show": lazy("Marked as not attended."),
})
KINDS = ("collective", "charity", "memorial")
TEXT_FIELDS = ("title_zh", "title_en", "venue_zh", "venue_en", "address_zh", "address_en", "description_zh",
               "description_en")
TIME_FIELDS = ("starts_at", "ends_at")
NUMBER_FIELDS = ("capacity", "guests_per_couple")
EVENT_FIELDS = ("kind", *TEXT_FIELDS, *TIME_FIELDS, *NUMBER_FIELDS, "requires_approval")
SIGNUP_STATES = ("pending_approval", "confirmed", "waitlisted", "attended", "no_show", "rejected", "cancelled")
StateParam = Annotated[str | None, QueryParameter(
    name="status", pattern=r"^(pending_approval|confirmed|waitlisted|attended|no_show|rejected|cancelled)$")]


def event_input(form: dict[str, Any], desk: Desk, *, creating: bool) -> dict[str, Any]:
    """The form as the API's body: ``datetime-local`` values are in the office's timezone."""
    assert desk.office is not None
    data: dict[str, Any] = {}
    for name in TEXT_FIELDS + NUMBER_FIELDS:
        value = form.get(name)
        if isinstance(value, str) and (value.strip() or not creating):
            data[name] = value.strip()
    data.update(office_moments(form, TIME_FIELDS, desk))
    for name in NUMBER_FIELDS + ("title_zh", "venue_zh", "address_zh", "title_en"):
        if data.get(name) == "":
            data.pop(name)  # an emptied required field keeps its value when editing
    if creating:
        data["office_id"] = desk.office_id
        data["kind"] = form.get("kind") or ""
    kind = form.get("kind") if creating else form.get("kind_is")
    if kind != "charity":  # always approved by the organiser; the box is not shown
        data["requires_approval"] = form.get("requires_approval") == "on"
    return data


def local_input(value: datetime, tz: Any) -> str:
    """For a ``datetime-local`` field: the time in the office's timezone, to the minute."""
    return value.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


async def _event(ctx: Context, desk: Desk, event_id: uuid.UUID) -> Any:
    """The event (as the API shows it, and its row), when it is this desk's office's (the
    service checks the principal's office too)."""
    row = await services.staff_event(ctx.session, desk.principal, event_id)
    if row.office_id != desk.office_id:
        raise NotFound()
    return await services.get_event(ctx, event_id), row


class DeskEventPages(Controller):
    path = "/desk/events"

    @get("/", name="desk-events")
    async def events(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                     office: OfficeParam = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/events")
        return await _list_page(request, ctx, desk, FormState())

    @post("/", name="desk-events-create")
    async def create(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                     office: OfficeParam = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/events")
        form = await posted(request)

        async def act() -> Response[Any]:
            data = parse(EventCreate, event_input(form, desk, creating=True))
            event = await services.create_event(ctx, data, key=idempotency_key(form))
            return redirect(request, desk.href(f"/desk/events/{event.id}"), notice="event-created")
        return await submit(ctx, form, EVENT_FIELDS, act, lambda state, status: _list_page(
            request, ctx, desk, state, status_code=status))

    @get("/{event_id:uuid}", name="desk-event")
    async def event(self, request: Request[Any, Any, Any], event_id: FromPath[uuid.UUID],
                    ctx: NamedDependency[Context], office: OfficeParam = None,
                    status: StateParam = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/events")
        return await _event_page(request, ctx, desk, event_id, FormState(), status)

    @post("/{event_id:uuid}", name="desk-event-save")
    async def save(self, request: Request[Any, Any, Any], event_id: FromPath[uuid.UUID],
                   ctx: NamedDependency[Context], office: OfficeParam = None) -> Response[Any]:
        desk, form = await _event_post(request, ctx, office, event_id)

        async def act() -> Response[Any]:
            data = parse(EventUpdate, event_input(form, desk, creating=False))
            await services.update_event(ctx, event_id, data)
            return redirect(request, desk.href(f"/desk/events/{event_id}"), notice="event-saved")
        return await submit(ctx, form, EVENT_FIELDS, act, _again(request, ctx, desk, event_id))

    @post("/{event_id:uuid}/check-in", name="desk-event-check-in")
    async def check_in(self, request: Request[Any, Any, Any], event_id: FromPath[uuid.UUID],
                       ctx: NamedDependency[Context], office: OfficeParam = None) -> Response[Any]:
        desk, form = await _event_post(request, ctx, office, event_id)

        async def act() -> Response[Any]:
            await organiser.check_in(ctx, event_id, parse(CheckInIn, {"code": (form.get("code") or "").strip()}).code)
            return redirect(request, desk.href(f"/desk/events/{event_id}"), notice="signup-attended")
        return await submit(ctx, form, ("code",), act, _again(request, ctx, desk, event_id))

    @get("/{event_id:uuid}/signups.csv", name="desk-event-csv")
    async def export(self, request: Request[Any, Any, Any], event_id: FromPath[uuid.UUID],
                     ctx: NamedDependency[Context], office: OfficeParam = None) -> Response[bytes]:
        """The masked export (the full numbers only through the API's audited ``reveal=true``)."""
        desk = await desk_for(request, ctx, office, "/desk/events")
        await _event(ctx, desk, event_id)
        body, filename = await organiser.export_csv(ctx, event_id, reveal=False)
        return Response(body, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "private, no-store"})

    @post("/{event_id:uuid}/signups/{signup_id:uuid}/{action:str}", name="desk-signup-action")
    async def act(self, request: Request[Any, Any, Any], event_id: FromPath[uuid.UUID],
                  signup_id: FromPath[uuid.UUID], action: FromPath[str], ctx: NamedDependency[Context],
                  office: OfficeParam = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/events")
        await _event(ctx, desk, event_id)
        signup = await organiser.staff_signup(ctx.session, desk.principal, signup_id)
        if signup.event_id != event_id:
            raise NotFound()
        form = await posted(request)

        async def act() -> Response[Any]:
            if action in ("approve", "reject"):
                data = parse(SignupDecisionIn, {"decision": action, **({"reason": form["reason"].strip()} if isinstance(
                    form.get("reason"), str) and form["reason"].strip() else {})})
                await organiser.decide(ctx, signup_id, data)
                notice = "signup-approved" if action == "approve" else "signup-rejected"
            elif action == "cancel":
                reason = parse(SignupCancelIn, {"reason": form.get("reason") or None}).reason
                await signups.cancel(ctx, signup_id, reason)
                notice = "signup-cancelled-by-office"
            elif action in ("attended", "no-show"):
                await organiser.mark_attendance(ctx, signup_id, action == "attended")
                notice = "signup-attended" if action == "attended" else "signup-no-show"
            else:
                raise NotFound()
            return redirect(request, desk.href(f"/desk/events/{event_id}"), notice=notice)
        return await submit(ctx, form, ("reason",), act, _again(request, ctx, desk, event_id),
                            passes=(NotFound,))


async def _event_post(request: Request[Any, Any, Any], ctx: Context, office: int | None,
                      event_id: uuid.UUID) -> tuple[Desk, dict[str, Any]]:
    """A post on an event's page: its desk (the event this office's) and the form."""
    desk = await desk_for(request, ctx, office, "/desk/events")
    await _event(ctx, desk, event_id)
    return desk, await posted(request)


def _again(request: Request[Any, Any, Any], ctx: Context, desk: Desk, event_id: uuid.UUID) -> Again:
    return lambda state, status: _event_page(request, ctx, desk, event_id, state, None, status_code=status)


async def _list_page(request: Request[Any, Any, Any], ctx: Context, desk: Desk, form: FormState, *,
                     status_code: int = 200) -> Response[Any]:
    events, _total = await services.list_events(ctx, office_id=desk.office_id, kind=None, start=None, end=None,
                                                include_cancelled=True, limit=100, offset=0)
    return desk_page(request, "desk/events.html", desk, status_code=status_code, events=events, form=form,
                     key=form.key(), kinds=KINDS)


async def _event_page(request: Request[Any, Any, Any], ctx: Context, desk: Desk, event_id: uuid.UUID,
                      form: FormState, status: str | None, *, status_code: int = 200) -> Response[Any]:
    event, row = await _event(ctx, desk, event_id)
    rows, total, counts = await organiser.list_signups(ctx, event_id, status=status, limit=500, offset=0)
    rows = as_json(rows)
    tz = desk.office.tz if desk.office else None
    values = {"title_zh": row.title_zh, "title_en": row.title_en, "venue_zh": row.venue_zh,
              "venue_en": row.venue_en, "address_zh": row.address_zh, "address_en": row.address_en,
              "starts_at": local_input(event.starts_at, tz), "ends_at": local_input(event.ends_at, tz),
              "capacity": str(event.capacity), "guests_per_couple": str(event.guests_per_couple)}
    form.values = {**values, **form.values}
    now = ctx.now
    return desk_page(request, "desk/event.html", desk, status_code=status_code, event=event, signups=rows,
                     total=total, counts=counts, status=status, states=SIGNUP_STATES, form=form,
                     started=now >= event.starts_at, on_the_day=event.starts_at.astimezone(tz).date()
                     <= now.astimezone(tz).date() <= event.ends_at.astimezone(tz).date())
