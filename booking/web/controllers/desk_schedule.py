"""``/desk/schedule``: the office's weekly schedule and capacities, and its closures and
special openings on a month calendar that shows the official holidays and make-up working
days (调休). A closure is previewed before it is saved: the preview is the schedule
service's own (``closure_preview``: the closure's slots and its rule of what stands on
them), so the page lists exactly what saving would cancel at that moment.

Every change calls the API's service (``booking.schedules.services``), which checks the
office again; the forms are read with the API's schemas.
"""

from __future__ import annotations

import calendar as pycalendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from booking.context import Context
from booking.errors import NotFound, Problem, invalid
from booking.i18n import lazy
from booking.schedules import services
from booking.schedules.official_calendar import DayKind, holiday_name, official_day
from booking.schedules.schemas import ClosureCreate, OfficeDayOut, SpecialOpeningCreate, WeeklyScheduleIn
from booking.slots.services import list_slots
from booking.web.forms import FormState, parse, posted, refused, submit, unflatten
from booking.web.pages import NOTICES, redirect
from booking.web.staff import Desk, OfficeParam, desk_for, desk_page

NOTICES.update({
    "schedule-saved": lazy("The weekly schedule is saved. Slots already generated stay as they are."),
    "office-closed": lazy("The office is closed on that date; its appointments are cancelled and the couples told."),
    "closure-removed": lazy("The closure is removed; the slots it closed are open again."),
    "opening-added": lazy("The special opening is saved. Generate its slots to make it bookable."),
    "opening-removed": lazy("The special opening is removed; its slots are closed."),
})
Month = Annotated[str | None, QueryParameter(name="month", pattern=r"^\d{4}-\d{2}$")]
BLANK_ROWS = 3
_ROW = re.compile(r"^windows\.(\d+)(?=\.|$)")


@dataclass
class CalendarDay:
    day: date
    in_month: bool
    kind: str  # workday | weekend | holiday | makeup_workday
    holiday: str | None = None
    closure: OfficeDayOut | None = None
    opening: OfficeDayOut | None = None
    slots: int = 0
    capacity: int = 0
    booked: int = 0


@dataclass
class Forms:
    top: FormState = field(default_factory=FormState)
    weekly: FormState = field(default_factory=FormState)
    closure: FormState = field(default_factory=FormState)
    opening: FormState = field(default_factory=FormState)


def _month(value: str | None, today: date) -> date:
    if value:
        year, month = (int(p) for p in value.split("-"))
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return date(year, month, 1)
        raise invalid("month", lazy("Choose a month as YYYY-MM."))
    return today.replace(day=1)


async def month_calendar(ctx: Context, desk: Desk, first: date) -> list[list[CalendarDay]]:
    """Weeks (Monday first) covering the month: each day's official kind, the office's own
    closure or special opening, and its slots (count, seats, booked)."""
    start = first - timedelta(days=first.weekday())
    last = first.replace(day=pycalendar.monthrange(first.year, first.month)[1])
    end = last + timedelta(days=6 - last.weekday())
    session, locale = ctx.session, ctx.locale
    closures = {d.date: d for d in await services.list_days(session, desk.office_id, "closure", start, end)}
    openings = {d.date: d for d in await services.list_days(session, desk.office_id, "special_opening", start, end)}
    slots = await list_slots(ctx, desk.office_id, start, end, None)
    weeks: list[list[CalendarDay]] = []
    day = start
    while day <= end:
        official = official_day(day)
        cell = CalendarDay(day, day.month == first.month, official.kind.value,
                           holiday_name(official.holiday, locale) if official.kind in (
                               DayKind.HOLIDAY, DayKind.MAKEUP_WORKDAY) else None,
                           closures.get(day), openings.get(day))
        for slot in (s for s in slots if s.local_date == day):
            cell.slots += 1
            cell.capacity += slot.capacity if slot.status == "open" else 0
            cell.booked += slot.booked
        if day.weekday() == 0:
            weeks.append([])
        weeks[-1].append(cell)
        day += timedelta(days=1)
    return weeks


async def _schedule_page(request: Request[Any, Any, Any], ctx: Context, desk: Desk, month: date,
                         forms: Forms, *,
                         status_code: int = 200) -> Response[Any]:
    session = ctx.session
    schedule = await services.get_schedule(session, desk.office_id)
    today = ctx.now.astimezone(desk.office.tz).date() if desk.office else month
    upcoming_closures = await services.list_days(session, desk.office_id, "closure", today, None)
    upcoming_openings = await services.list_days(session, desk.office_id, "special_opening", today, None)
    rows = [w.model_dump(mode="json") for w in schedule.windows] + [{} for _ in range(BLANK_ROWS)]
    previous = (month - timedelta(days=1)).replace(day=1)
    following = (month + timedelta(days=32)).replace(day=1)
    return desk_page(request, "desk/schedule.html", desk, status_code=status_code, forms=forms, rows=rows,
                     weeks=await month_calendar(ctx, desk, month), month=month, previous=previous,
                     following=following, today=today, closures=upcoming_closures, openings=upcoming_openings,
                     services=desk.office.services if desk.office else ())


def _weekly_input(form: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
    """The posted rows with a start or an end (a cleared row is a removed window), and each
    kept row's index on the form, so an error lands beside the row it is about."""
    rows = unflatten(form, ("windows",)).get("windows", [])
    kept = [(i, r) for i, r in enumerate(rows) if r.get("start") or r.get("end")]
    return {"windows": [r for _, r in kept]}, [i for i, _ in kept]


def _renumbered(problem: Problem, shown: list[int]) -> Problem:
    for error in problem.errors or []:
        name = str(error.get("field", ""))
        found = _ROW.match(name)
        if found and int(found.group(1)) < len(shown):
            error["field"] = f"windows.{shown[int(found.group(1))]}" + name[found.end():]
    return problem


def _weekly_fields(form: dict[str, Any]) -> list[str]:
    """The form's window fields, and each row as a whole (a window that ends before it starts)."""
    fields = [k for k in form if k.startswith("windows.")]
    return fields + sorted({m.group(0) for m in map(_ROW.match, fields) if m})


class DeskSchedulePages(Controller):
    path = "/desk/schedule"

    @get("/", name="desk-schedule")
    async def schedule(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                       office: OfficeParam = None, month: Month = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/schedule")
        return await _schedule_page(request, ctx, desk, _month(month, _today(ctx, desk)), Forms())

    @post("/weekly", name="desk-schedule-weekly")
    async def save_weekly(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                          office: OfficeParam = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/schedule")
        form = await posted(request)
        data, shown = _weekly_input(form)

        async def act() -> Response[Any]:
            try:
                await services.replace_schedule(ctx, desk.office_id, parse(WeeklyScheduleIn, data))
            except Problem as problem:
                raise _renumbered(problem, shown) from None
            return redirect(request, desk.href("/desk/schedule"), notice="schedule-saved")
        return await submit(ctx, form, _weekly_fields(form), act, lambda state, status: _failed(
            request, ctx, desk, Forms(weekly=state), status))

    @get("/closures/preview", name="desk-closure-preview")
    async def preview_closure(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                              office: OfficeParam = None) -> Response[Any]:
        """What closing the date would cancel now, and the button that closes it."""
        desk = await desk_for(request, ctx, office, "/desk/schedule")
        form = {k: v for k, v in request.query_params.items() if k in ("date", "note")}
        try:
            data = parse(ClosureCreate, unflatten(form, ("date", "note")))
        except Problem as problem:
            return await _failed(request, ctx, desk, Forms(closure=refused(problem, form, ("date", "note"))),
                                 problem.status)
        assert desk.office is not None
        appointments, open_slots = await services.closure_preview(ctx, desk.office_id, data.date,
                                                                  desk.office.tz)
        official = official_day(data.date)
        return desk_page(request, "desk/schedule_closure.html", desk, closure=data, appointments=appointments,
                         open_slots=open_slots, holiday=holiday_name(official.holiday, ctx.locale),
                         form=FormState(values=form))

    @post("/closures", name="desk-closure-add")
    async def add_closure(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                          office: OfficeParam = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/schedule")
        form = await posted(request)

        async def act() -> Response[Any]:
            data = parse(ClosureCreate, unflatten(form, ("date", "note")))
            await services.add_closure(ctx, desk.office_id, data)
            return redirect(request, desk.href("/desk/schedule", month=data.date.strftime("%Y-%m")),
                            notice="office-closed")
        return await submit(ctx, form, ("date", "note"), act, lambda state, status: _failed(
            request, ctx, desk, Forms(closure=state), status))

    @post("/openings", name="desk-opening-add")
    async def add_opening(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                          office: OfficeParam = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/schedule")
        form = await posted(request)

        async def act() -> Response[Any]:
            raw = unflatten(form, ("date", "note", "windows"))
            own = [w for w in raw.pop("windows", []) if w.get("start") or w.get("end")]
            data = parse(SpecialOpeningCreate, {**raw, **({"windows": own} if own else {})})
            await services.add_special_opening(ctx, desk.office_id, data)
            return redirect(request, desk.href("/desk/schedule", month=data.date.strftime("%Y-%m")),
                            notice="opening-added")
        return await submit(ctx, form, ["date", "note", *_weekly_fields(form)], act, lambda state,
                            status: _failed(
            request, ctx, desk, Forms(opening=state), status))

    @post("/{kind:str}/{day:date}/remove", name="desk-office-day-remove")
    async def remove_day(self, request: Request[Any, Any, Any], kind: FromPath[str], day: FromPath[date],
                         ctx: NamedDependency[Context], office: OfficeParam = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/schedule")
        stored = {"closures": ("closure", "closure-removed"), "openings": ("special_opening", "opening-removed")}
        if kind not in stored:
            raise NotFound()

        async def act() -> Response[Any]:
            await services.remove_day(ctx, desk.office_id, stored[kind][0], day)
            return redirect(request, desk.href("/desk/schedule", month=day.strftime("%Y-%m")),
                            notice=stored[kind][1])
        return await submit(ctx, {}, (), act, lambda state, status: _failed(
            request, ctx, desk, Forms(top=state), status))


def _today(ctx: Context, desk: Desk) -> date:
    return ctx.now.astimezone(desk.office.tz).date() if desk.office else date.today()


async def _failed(request: Request[Any, Any, Any], ctx: Context, desk: Desk, forms: Forms,
                  status_code: int) -> Response[Any]:
    """The schedule page again, the refusal beside the form it is about (or at the top), on
    the month of the date typed."""
    month_value = forms.closure.values.get("date") or forms.opening.values.get("date") or ""
    try:
        month = date.fromisoformat(month_value).replace(day=1)
    except ValueError:
        month = _today(ctx, desk).replace(day=1)
    return await _schedule_page(request, ctx, desk, month, forms, status_code=status_code)
