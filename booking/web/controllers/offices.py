"""The office page (served from the availability cache) and booking a slot in one form post."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from booking.appointments.problems import SlotFullProblem, SlotNotBookable
from booking.appointments.schemas import AppointmentCreate
from booking.appointments.services.book import book
from booking.ballots.services import upcoming as upcoming_ballots
from booking.context import Context
from booking.errors import NotFound, Problem
from booking.kernel.catalog import SERVICES
from booking.runtime import Runtime
from booking.schemas import PathId, as_json
from booking.security.ratelimit import count_request
from booking.web import calendar
from booking.web.forms import PARTIES_SHOWN, FormState, idempotency_key, parse, posted, refused, unflatten
from booking.web.pages import note_outcome, page, redirect
from booking.web.session import require_couple

BOOKING_FIELDS = ("slot_id", "service", "parties")
SHOWN = PARTIES_SHOWN

Service = Annotated[str | None, QueryParameter(pattern=r"^(marriage_registration|certificate_reissue)$")]
SlotParam = Annotated[int, QueryParameter(name="slot", ge=1, le=2**31 - 1)]


class OfficePages(Controller):
    path = "/offices"

    @get("/{office_id:int}", name="office")
    async def office(self, request: Request[Any, Any, Any], office_id: PathId, ctx: NamedDependency[Context],
                     service: Service = None) -> Response[Any]:
        office = await calendar.office_or_404(ctx.rt, office_id)
        chosen = service if service in office.services else office.services[0]
        now = ctx.now
        left = {}
        for offered in office.services:
            slots = await calendar.free_slots(ctx.rt, office_id, offered)
            left[offered] = sum(s.remaining for s in slots)
            if offered == chosen:
                shown = slots
        release_day, release_at = calendar.next_release(office, now)
        return page(request, "office.html", fragment="_calendar.html", office=office, service=chosen,
                    services=[s for s in SERVICES if s in office.services], left=left,
                    days=calendar.days(office, shown, now, ctx.locale), release_day=release_day,
                    release_at=release_at, today=now.astimezone(office.tz).date(),
                    profile=await calendar.office_profile(ctx.rt, office_id),
                    ballots=await upcoming_ballots(ctx.rt, office))

    @get("/{office_id:int}/book", name="book")
    async def book_form(self, request: Request[Any, Any, Any], office_id: PathId, slot_id: SlotParam,
                        ctx: NamedDependency[Context]) -> Response[Any]:
        require_couple(request, ctx.principal)
        return await _booking_page(request, ctx.rt, office_id, slot_id, FormState())

    @post("/{office_id:int}/book", name="book-post")
    async def book(self, request: Request[Any, Any, Any], office_id: PathId, slot_id: SlotParam,
                   ctx: NamedDependency[Context]) -> Response[Any]:
        principal = require_couple(request, ctx.principal)
        form = await posted(request)
        chosen = slot_id
        try:
            # the slot comes from the form: after a refusal the couple may choose another one
            await count_request(request, "booking", principal.id)
            data = parse(AppointmentCreate, unflatten(form, BOOKING_FIELDS))
            chosen = data.slot_id
            _status, body = await book(ctx.rt, principal, data, locale=ctx.locale,
                                       key=idempotency_key(form))
            body = as_json(body)
        except (SlotFullProblem, SlotNotBookable) as problem:
            note_outcome(request, problem=problem)
            return await _booking_page(request, ctx.rt, office_id, chosen, refused(problem, form, SHOWN),
                                       status_code=problem.status, taken=True)
        except Problem as problem:
            note_outcome(request, problem=problem)
            return await _booking_page(request, ctx.rt, office_id, chosen, refused(problem, form, SHOWN),
                                       status_code=problem.status)
        note_outcome(request, status=body["status"])
        application = body["links"].get("application")
        if application:  # the policy routes this couple to a clerk's pre-review first
            return redirect(request, f"/cross-province/applications/{application.rsplit('/', 1)[-1]}",
                            notice="applied")
        return redirect(request, f"/me/appointments/{body['id']}", notice="booked")


async def _booking_page(request: Request[Any, Any, Any], runtime: Runtime, office_id: int, slot_id: int,
                        form: FormState, status_code: int = 200, taken: bool = False) -> Response[Any]:
    """The booking form for a free slot; for a full (or no longer bookable) one, the
    nearest free slots instead. ``taken``: the booking was just refused for that reason."""
    office = await calendar.office_or_404(runtime, office_id)
    facts = await runtime.slot_facts.get(slot_id)
    if facts is None or facts.office_id != office_id:
        raise NotFound()
    slots = await calendar.free_slots(runtime, office_id, facts.service)
    slot = calendar.find(slots, slot_id)
    key = form.key()
    if slot is None or slot.remaining <= 0 or taken:
        alternatives = calendar.nearest(slots, facts.starts_at, exclude=slot_id)
        if taken:  # the couple's details stay: they pick another slot in the same form
            return page(request, "book.html", status_code=status_code, office=office, facts=facts, slot=None,
                        form=form, key=key, alternatives=alternatives, private=True)
        return page(request, "full.html", office=office, facts=facts, alternatives=alternatives)
    return page(request, "book.html", status_code=status_code, office=office, facts=facts, slot=slot, form=form,
                key=key, private=True)
