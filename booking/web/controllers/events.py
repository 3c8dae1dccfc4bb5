"""Wedding events: the list, one event with its places and conditions, sign-up (with guests
and, for charity weddings, a pledge or sponsor), the waitlist position, cancel."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from booking.context import Context
from booking.errors import Problem
from booking.events import services as events
from booking.events import signups
from booking.events.schemas import SignupCreate
from booking.schemas import as_json
from booking.security.ratelimit import count_request
from booking.web.forms import PARTIES_SHOWN, FormState, idempotency_key, parse, posted, refused, submit, unflatten
from booking.web.labels import event_conditions, needs_marriage_date
from booking.web.pages import note_outcome, page, redirect
from booking.web.session import require_couple

SIGNUP_FIELDS = ("parties", "marriage_date", "guests", "pledge", "sponsor")
SHOWN = (*PARTIES_SHOWN, "marriage_date", "guests",
         "pledge.amount", "pledge.cause", "sponsor.name", "pledge")
LISTED = 50

Kind = Annotated[str | None, QueryParameter(pattern=r"^(collective|charity|memorial)?$")]


class EventPages(Controller):
    path = "/events"

    @get("/", name="events")
    async def events(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                     kind: Kind = None) -> Response[Any]:
        rows, total = await events.list_events(ctx, office_id=None, kind=kind or None, start=None,
                                               end=None, include_cancelled=False, limit=LISTED, offset=0)
        return page(request, "events.html", fragment="_events.html", events=rows, total=total, kind=kind or "")

    @get("/{event_id:uuid}", name="event")
    async def event(self, request: Request[Any, Any, Any], event_id: FromPath[uuid.UUID],
                    ctx: NamedDependency[Context]) -> Response[Any]:
        return await _event_page(request, ctx, event_id, FormState())

    @post("/{event_id:uuid}/signups", name="event-signup")
    async def sign_up(self, request: Request[Any, Any, Any], event_id: FromPath[uuid.UUID],
                      ctx: NamedDependency[Context]) -> Response[Any]:
        principal = require_couple(request, ctx.principal)
        form = await posted(request)
        fields = unflatten(form, SIGNUP_FIELDS)
        if form.get("contribution") != "pledge":
            fields.pop("pledge", None)
        if form.get("contribution") != "sponsor":
            fields.pop("sponsor", None)
        try:
            await count_request(request, "signup", principal.id)
            _status, body = await signups.sign_up(ctx.rt, principal, event_id, parse(SignupCreate, fields),
                                                  locale=ctx.locale,
                                  key=idempotency_key(form))
            body = as_json(body)
        except Problem as problem:
            note_outcome(request, problem=problem)
            return await _event_page(request, ctx, event_id, refused(problem, form, SHOWN),
                                     status_code=problem.status)
        note_outcome(request, status=body["status"])
        return redirect(request, f"/events/{event_id}#mine", notice="signed-up")

    @post("/{event_id:uuid}/signups/{signup_id:uuid}/cancel", name="event-signup-cancel")
    async def cancel(self, request: Request[Any, Any, Any], event_id: FromPath[uuid.UUID],
                     signup_id: FromPath[uuid.UUID], ctx: NamedDependency[Context]) -> Response[Any]:
        require_couple(request, ctx.principal)

        async def act() -> Response[Any]:
            await signups.cancel(ctx, signup_id)
            return redirect(request, f"/events/{event_id}#mine", notice="signup-cancelled")
        return await submit(ctx, {}, (), act, lambda state, status: _event_page(
            request, ctx, event_id, state, status_code=status))


async def _event_page(request: Request[Any, Any, Any], ctx: Context, event_id: uuid.UUID, form: FormState, *,
                      status_code: int = 200) -> Response[Any]:
    viewer = ctx.principal
    event = await events.get_event(ctx, event_id)
    mine: list[dict[str, Any]] = []
    if viewer is not None and viewer.is_couple:
        own, _ = await signups.list_own(ctx, limit=LISTED, offset=0)
        own = as_json(own)
        mine = [s for s in own if s["event_id"] == str(event_id)]
    standing = [s for s in mine if s["status"] in signups.STANDING]
    return page(request, "event.html", status_code=status_code, private=viewer is not None, event=event,
                conditions=event_conditions(event.kind, event.eligibility, event.guests_per_couple,
                                            event.requires_approval),
                asks_marriage_date=needs_marriage_date(event.kind), mine=mine, standing=standing, form=form,
                key=form.key())
