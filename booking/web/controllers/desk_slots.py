"""``/desk/slots``: generate the office's slots for a range of dates, after a preview of
which days open and which stay closed (``generation.preview_days``: the generator's own
plan, so the preview cannot disagree with what is generated), and close or reopen single
slots (``slots.services.patch_slot``, the API's ``PATCH /api/v1/slots/{id}``)."""

from __future__ import annotations

from collections import OrderedDict
from datetime import date, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from booking.appointments.services.desk import roster_entries
from booking.context import Context
from booking.db.models import Slot
from booking.errors import NotFound, Problem, invalid
from booking.i18n import lazy
from booking.peakdays.services import peak_days
from booking.schedules.official_calendar import holiday_name
from booking.slots.availability import MAX_SPAN_DAYS
from booking.slots.generation import generate_slots, preview_days
from booking.slots.schemas import GenerateIn, SlotUpdate
from booking.slots.services import close_preview, list_slots, patch_slot
from booking.web.forms import FormState, parse, posted, refused, submit
from booking.web.pages import NOTICES, redirect
from booking.web.staff import Desk, OfficeParam, desk_for, desk_page

NOTICES.update({
    "slot-closed": lazy("The slot is closed: nobody can book it, and what stood on it is cancelled."),
    "slot-reopened": lazy("The slot is open again."),
})
DEFAULT_DAYS = 14
StartParam = Annotated[str | None, QueryParameter(name="from", max_length=10)]
EndParam = Annotated[str | None, QueryParameter(name="to", max_length=10)]
COUNT = Annotated[int | None, QueryParameter(ge=0, le=1_000_000)]


def _range(values: dict[str, Any], today: date) -> GenerateIn:
    data = {"from": values.get("from") or today.isoformat(),
            "to": values.get("to") or (today + timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
            "allow_unannounced_years": values.get("allow_unannounced_years") == "on"}
    chosen = parse(GenerateIn, data)
    return chosen


async def _slots_page(request: Request[Any, Any, Any], ctx: Context, desk: Desk, values: dict[str, Any],
                      form: FormState, *, status_code: int = 200,
                      result: dict[str, int] | None = None) -> Response[Any]:
    assert desk.office is not None
    session = ctx.session
    today = ctx.now.astimezone(desk.office.tz).date()
    try:
        chosen = _range(values, today)
        if (chosen.to - chosen.from_).days > MAX_SPAN_DAYS:  # as the API's list of slots
            raise invalid("to", lazy("At most {days} days at a time.", days=MAX_SPAN_DAYS))
    except Problem as problem:
        form = refused(problem, values, ("from", "to"))
        status_code = problem.status
        chosen = _range({}, today)
    locale = ctx.locale
    plans, unannounced = await preview_days(ctx, desk.office_id, chosen.from_, chosen.to)
    peaks = {p["date"]: p["names"] for p in await peak_days(session, chosen.from_, chosen.to, locale,
                                                            desk.office_id)}
    slots = await list_slots(ctx, desk.office_id, chosen.from_, chosen.to, None)
    by_day: OrderedDict[date, list[Slot]] = OrderedDict((p.day, []) for p in plans)
    for slot in slots:
        by_day.setdefault(slot.local_date, []).append(slot)
    days = [{"plan": p, "holiday": holiday_name(p.holiday, locale), "peak": peaks.get(p.day.isoformat()),
             "slots": by_day.get(p.day, []), "planned": sum(len(w.capacities) for w in p.windows)} for p in plans]
    return desk_page(request, "desk/slots.html", desk, status_code=status_code, form=form, days=days,
                     start=chosen.from_, end=chosen.to, unannounced=unannounced, result=result,
                     closed_days=sum(1 for p in plans if not p.windows), open_days=sum(1 for p in plans if p.windows))


class DeskSlotPages(Controller):
    path = "/desk/slots"

    @get("/", name="desk-slots")
    async def slots(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                    office: OfficeParam = None, start: StartParam = None, end: EndParam = None, created: COUNT = None,
                    existing: COUNT = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/slots")
        result = {"created": created, "existing": existing or 0} if created is not None else None
        return await _slots_page(request, ctx, desk, {"from": start, "to": end}, FormState(), result=result)

    @post("/generate", name="desk-slots-generate")
    async def generate(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                       office: OfficeParam = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/slots")
        form = await posted(request)

        async def act() -> Response[Any]:
            data = parse(GenerateIn, {"from": form.get("from"), "to": form.get("to"),
                                      "allow_unannounced_years": form.get("allow_unannounced_years") == "on"})
            result = await generate_slots(ctx, desk.office_id, data.from_, data.to,
                                          allow_unannounced=data.allow_unannounced_years)
            return redirect(request, desk.href("/desk/slots", **{"from": data.from_.isoformat(),
                                                                 "to": data.to.isoformat()},
                                               created=result.created, existing=result.existing))
        return await submit(ctx, form, ("from", "to", "allow_unannounced_years"), act, lambda state, status:
                            _slots_page(request, ctx, desk, form, state, status_code=status))

    @get("/{slot_id:int}/close", name="desk-slot-close-preview")
    async def close_preview(self, request: Request[Any, Any, Any], slot_id: FromPath[int],
                            ctx: NamedDependency[Context], office: OfficeParam = None,
                            start: StartParam = None, end: EndParam = None) -> Response[Any]:
        """Closing a booked slot cancels what stands on it: the page shows what, first."""
        desk = await desk_for(request, ctx, office, "/desk/slots")
        if not 0 < slot_id < 2**63:
            raise NotFound()
        slot, standing = await close_preview(ctx, slot_id)
        assert desk.office is not None
        return desk_page(request, "desk/slot_close.html", desk, slot=slot,
                         appointments=await roster_entries(ctx.session, standing, desk.office.tz),
                         back={"from": start or "", "to": end or ""}, form=FormState())

    @post("/{slot_id:int}/close", name="desk-slot-close")
    async def close(self, request: Request[Any, Any, Any], slot_id: FromPath[int],
                    ctx: NamedDependency[Context], office: OfficeParam = None) -> Response[Any]:
        return await _change(request, ctx, slot_id, "closed", office)

    @post("/{slot_id:int}/reopen", name="desk-slot-reopen")
    async def reopen(self, request: Request[Any, Any, Any], slot_id: FromPath[int],
                     ctx: NamedDependency[Context], office: OfficeParam = None) -> Response[Any]:
        return await _change(request, ctx, slot_id, "open", office)


async def _change(request: Request[Any, Any, Any], ctx: Context, slot_id: int, status: str,
                  office: int | None) -> Response[Any]:
    desk = await desk_for(request, ctx, office, "/desk/slots")
    if not 0 < slot_id < 2**63:
        raise NotFound()
    form = await posted(request)
    back = {"from": form.get("from") or None, "to": form.get("to") or None}

    async def act() -> Response[Any]:
        change = parse(SlotUpdate, {"status": status, "note": form.get("note") or ""})
        # the service finds the slot among the principal's offices only (another's: 404)
        await patch_slot(ctx, slot_id, change)
        return redirect(request, desk.href("/desk/slots", **back),
                        notice="slot-closed" if status == "closed" else "slot-reopened")
    # the refusal is shown at the top of the slots page (the note's field is the preview's)
    return await submit(ctx, {}, (), act, lambda state, status_code: _slots_page(
        request, ctx, desk, back, state, status_code=status_code))
