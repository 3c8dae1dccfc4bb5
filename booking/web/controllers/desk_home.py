"""The clerk's day: ``/desk`` (today's roster by hour, counts, next arrivals; it polls
itself with HTMX so two counters see each other's changes), its print view
(``/desk/print``), and ``/desk/offices`` (an admin chooses the office to work on).

The roster is the API's (``appointments.desk.roster``: the office checked there too);
``/desk/roster.ics`` is the day's roster as a calendar (``desk_roster_ics``).
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import date, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from booking.appointments.schemas import RosterEntry
from booking.appointments.services.desk import roster
from booking.calendar.ics import CalendarEvent, build_calendar, uid_for
from booking.context import Context
from booking.kernel.catalog import service_title
from booking.kernel.codes import display_code
from booking.web.controllers.accounts import Next
from booking.web.labels import STATUS
from booking.web.session import safe_next
from booking.web.staff import Desk, OfficeParam, desk_for, desk_page, offices_to_choose, require_admin

# what the roster counts, in the order of the day (cancelled ones are listed, not counted)
ROSTER_STATES = ("confirmed", "checked_in", "completed", "no_show", "turned_away")
POLL_SECONDS = 5
Day = Annotated[date | None, QueryParameter(name="date")]


async def day_roster(ctx: Context, desk: Desk, day: date) -> dict[str, Any]:
    """The day's roster grouped by hour, the counts, and the next arrivals (from now on)."""
    entries, counts = await roster(ctx, desk.office_id, day)
    by_hour: OrderedDict[int, list[RosterEntry]] = OrderedDict()
    for entry in entries:
        by_hour.setdefault(entry.starts_at.hour, []).append(entry)
    now = ctx.now
    upcoming = [e for e in entries if e.status == "confirmed" and e.ends_at > now][:5]
    return {"day": day, "by_hour": by_hour, "counts": counts, "states": ROSTER_STATES, "upcoming": upcoming,
            "total": sum(counts.get(s, 0) for s in ROSTER_STATES), "entries": entries}


def today_at(ctx: Context, desk: Desk) -> date:
    assert desk.office is not None
    return ctx.now.astimezone(desk.office.tz).date()


class DeskHomePages(Controller):
    path = "/desk"

    @get("/", name="desk")
    async def today(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                    office: OfficeParam = None, day: Day = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk")
        today = today_at(ctx, desk)
        shown = day or today
        data = await day_roster(ctx, desk, shown)
        return desk_page(request, "desk/today.html", desk, fragment="desk/_roster.html", today=today,
                         poll=POLL_SECONDS, prev_day=shown - timedelta(days=1), next_day=shown + timedelta(days=1),
                         now=ctx.now, **data)

    @get("/print", name="desk-print")
    async def print_view(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                         office: OfficeParam = None, day: Day = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk")
        data = await day_roster(ctx, desk, day or today_at(ctx, desk))
        return desk_page(request, "desk/print.html", desk, printed_at=ctx.now, **data)

    @get("/roster.ics", name="desk-roster-ics")
    async def roster_ics(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                         office: OfficeParam = None, day: Day = None) -> Response[Any]:
        """The day's roster as a calendar (METHOD:PUBLISH) for the counter: one event per
        appointment still standing, its code and the couple's names (no ID numbers)."""
        desk = await desk_for(request, ctx, office, "/desk")
        assert desk.office is not None
        shown = day or today_at(ctx, desk)
        data = await day_roster(ctx, desk, shown)
        items = [CalendarEvent(
            uid=uid_for("roster-appointment", e.id), sequence=0, start=e.starts_at, end=e.ends_at,
            timezone=desk.office.timezone,
            summary=f"{display_code(e.code)} {' & '.join(p.name for p in e.parties)}",
            description=f"{service_title(e.service, ctx.locale)} · {STATUS[e.status].render(ctx.locale)}",
            location=desk.office.address(ctx.locale)) for e in data["entries"] if e.status not in ("cancelled",)]
        body = build_calendar(items, method="PUBLISH", stamp=ctx.now,
                              name=f"{desk.office.name(ctx.locale)} {shown.isoformat()}")
        # a Response, not media_type on the handler: errors stay problem+json (PITFALLS.md)
        return Response(body, media_type="text/calendar", headers={
            "Content-Disposition": f'attachment; filename="roster-{desk.office.code}-{shown.isoformat()}.ics"',
            "Cache-Control": "private, no-store"})

    @get("/offices", name="desk-offices")
    async def choose(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                     next_path: Next = None) -> Response[Any]:
        principal = require_admin(request, ctx.principal)  # a clerk has one office: their own
        target = safe_next(next_path, "/desk").split("?", 1)[0]
        return desk_page(request, "desk/offices.html", Desk(principal, None, "/desk"),
                         offices=await offices_to_choose(ctx.session), target=target)
