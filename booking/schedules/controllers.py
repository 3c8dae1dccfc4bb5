"""A clerk's weekly schedule, closures and special openings for their office."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from booking.accounts.guards import requires_staff
from booking.context import Context
from booking.schedules import services
from booking.schedules.schemas import (
    ClosureCreate,
    ClosureOut,
    ClosurePreviewOut,
    OfficeDayList,
    OfficeDayOut,
    SpecialOpeningCreate,
    WeeklyScheduleIn,
    WeeklyScheduleOut,
)
from booking.schemas import PathId

From = Annotated[date | None, QueryParameter(name="from", description="first date (YYYY-MM-DD)")]
To = Annotated[date | None, QueryParameter(name="to", description="last date (YYYY-MM-DD)")]


class ScheduleController(Controller):
    path = "/api/v1/offices/{office_id:int}"
    tags = ["schedules"]
    guards = [requires_staff]

    @get("/schedule", summary="The office's weekly schedule")
    async def get_schedule(
        self, office_id: PathId, ctx: NamedDependency[Context]
    ) -> WeeklyScheduleOut:
        ctx.caller.require_office(office_id)
        return await services.get_schedule(ctx.session, office_id)

    @put("/schedule", summary="Replace the office's weekly schedule")
    async def put_schedule(
        self,
        office_id: PathId,
        data: JSONBody[WeeklyScheduleIn],
        ctx: NamedDependency[Context],
    ) -> WeeklyScheduleOut:
        return await services.replace_schedule(ctx, office_id, data)

    @get("/closures", summary="Closures (停办) of the office")
    async def list_closures(
        self, office_id: PathId, ctx: NamedDependency[Context],
        start: From = None, end: To = None,
    ) -> OfficeDayList:
        ctx.caller.require_office(office_id)
        return OfficeDayList(data=await services.list_days(ctx.session, office_id, "closure", start, end))

    @get("/closures/preview", summary="What closing the office on a date would cancel",
         description="The appointments standing on the date's slots now, by the rule the closure applies.")
    async def preview_closure(
        self, office_id: PathId, day: Annotated[date, QueryParameter(name="date", description="YYYY-MM-DD")],
        ctx: NamedDependency[Context],
    ) -> ClosurePreviewOut:
        ctx.caller.require_office(office_id)
        office = await ctx.rt.offices.of(office_id, ctx.session)
        appointments, open_slots = await services.closure_preview(ctx, office_id, day, office.tz)
        return ClosurePreviewOut(date=day, open_slots=open_slots, appointments=appointments)

    @post("/closures", status_code=201, summary="Close the office on a date",
          description="The date's open slots stop being bookable; its standing appointments are cancelled by "
          "the office and each couple told. Removing the closure reopens the slots it closed.")
    async def add_closure(
        self,
        office_id: PathId,
        data: JSONBody[ClosureCreate],
        ctx: NamedDependency[Context],
    ) -> ClosureOut:
        day, cancelled = await services.add_closure(ctx, office_id, data)
        return ClosureOut(**day.model_dump(), cancelled_appointments=cancelled)

    @delete("/closures/{day:date}", status_code=204, summary="Remove a closure (the slots it closed reopen)")
    async def remove_closure(
        self, office_id: PathId, day: FromPath[date], ctx: NamedDependency[Context],
    ) -> None:
        await services.remove_day(ctx, office_id, "closure", day)

    @get("/special-openings", summary="Special openings (特别开放日) of the office")
    async def list_special_openings(
        self, office_id: PathId, ctx: NamedDependency[Context],
        start: From = None, end: To = None,
    ) -> OfficeDayList:
        ctx.caller.require_office(office_id)
        return OfficeDayList(data=await services.list_days(ctx.session, office_id, "special_opening", start,
                                                           end))

    @post("/special-openings", status_code=201, summary="Open the office on a date it would be closed",
          description="E.g. 5月20日 on a weekend, or evening windows on a working day. Its windows come beside "
          "the date's usual ones; one that overlaps them, or the date's slots, is refused (409). Generate "
          "slots afterwards to make them bookable.")
    async def add_special_opening(
        self,
        office_id: PathId,
        data: JSONBody[SpecialOpeningCreate],
        ctx: NamedDependency[Context],
    ) -> OfficeDayOut:
        return await services.add_special_opening(ctx, office_id, data)

    @delete("/special-openings/{day:date}", status_code=204,
            summary="Remove a special opening (its own slots close; their appointments are cancelled by the "
            "office)")
    async def remove_special_opening(
        self, office_id: PathId, day: FromPath[date], ctx: NamedDependency[Context],
    ) -> None:
        await services.remove_day(ctx, office_id, "special_opening", day)
