"""A clerk's weekly schedule, closures and special openings for their office."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.guards import requires_staff
from booking.accounts.principal import Principal
from booking.runtime import Runtime
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
        self, office_id: PathId, principal: NamedDependency[Principal], session: NamedDependency[AsyncSession]
    ) -> WeeklyScheduleOut:
        principal.require_office(office_id)
        return await services.get_schedule(session, office_id)

    @put("/schedule", summary="Replace the office's weekly schedule")
    async def put_schedule(
        self,
        office_id: PathId,
        data: JSONBody[WeeklyScheduleIn],
        principal: NamedDependency[Principal],
        session: NamedDependency[AsyncSession],
    ) -> WeeklyScheduleOut:
        return await services.replace_schedule(session, office_id, data, principal)

    @get("/closures", summary="Closures (停办) of the office")
    async def list_closures(
        self, office_id: PathId, principal: NamedDependency[Principal], session: NamedDependency[AsyncSession],
        start: From = None, end: To = None,
    ) -> OfficeDayList:
        principal.require_office(office_id)
        return OfficeDayList(data=await services.list_days(session, office_id, "closure", start, end))

    @get("/closures/preview", summary="What closing the office on a date would cancel",
         description="The appointments standing on the date's slots now, by the rule the closure applies.")
    async def preview_closure(
        self, office_id: PathId, day: Annotated[date, QueryParameter(name="date", description="YYYY-MM-DD")],
        principal: NamedDependency[Principal], session: NamedDependency[AsyncSession],
        runtime: NamedDependency[Runtime],
    ) -> ClosurePreviewOut:
        principal.require_office(office_id)
        office = await runtime.offices.of(office_id, session)
        appointments, open_slots = await services.closure_preview(session, office_id, day, principal, office.tz)
        return ClosurePreviewOut(date=day, open_slots=open_slots, appointments=appointments)

    @post("/closures", status_code=201, summary="Close the office on a date",
          description="The date's open slots stop being bookable; its standing appointments are cancelled by "
          "the office and each couple told. Removing the closure reopens the slots it closed.")
    async def add_closure(
        self,
        office_id: PathId,
        data: JSONBody[ClosureCreate],
        principal: NamedDependency[Principal],
        session: NamedDependency[AsyncSession],
        runtime: NamedDependency[Runtime],
    ) -> ClosureOut:
        day, cancelled = await services.add_closure(session, office_id, data, principal, runtime.clock.now())
        return ClosureOut(**day.model_dump(), cancelled_appointments=cancelled)

    @delete("/closures/{day:date}", status_code=204, summary="Remove a closure (the slots it closed reopen)")
    async def remove_closure(
        self, office_id: PathId, day: FromPath[date], principal: NamedDependency[Principal],
        session: NamedDependency[AsyncSession], runtime: NamedDependency[Runtime],
    ) -> None:
        await services.remove_day(session, office_id, "closure", day, principal, runtime.clock.now())

    @get("/special-openings", summary="Special openings (特别开放日) of the office")
    async def list_special_openings(
        self, office_id: PathId, principal: NamedDependency[Principal], session: NamedDependency[AsyncSession],
        start: From = None, end: To = None,
    ) -> OfficeDayList:
        principal.require_office(office_id)
        return OfficeDayList(data=await services.list_days(session, office_id, "special_opening", start, end))

    @post("/special-openings", status_code=201, summary="Open the office on a date it would be closed",
          description="E.g. 5月20日 on a weekend, or evening windows on a working day. Its windows come beside "
          "the date's usual ones; one that overlaps them, or the date's slots, is refused (409). Generate "
          "slots afterwards to make them bookable.")
    async def add_special_opening(
        self,
        office_id: PathId,
        data: JSONBody[SpecialOpeningCreate],
        principal: NamedDependency[Principal],
        session: NamedDependency[AsyncSession],
        runtime: NamedDependency[Runtime],
    ) -> OfficeDayOut:
        return await services.add_special_opening(session, office_id, data, principal, runtime.clock.now())

    @delete("/special-openings/{day:date}", status_code=204,
            summary="Remove a special opening (its own slots close; their appointments are cancelled by the "
            "office)")
    async def remove_special_opening(
        self, office_id: PathId, day: FromPath[date], principal: NamedDependency[Principal],
        session: NamedDependency[AsyncSession], runtime: NamedDependency[Runtime],
    ) -> None:
        await services.remove_day(session, office_id, "special_opening", day, principal, runtime.clock.now())
