"""Peak days over HTTP: the public listing, and an office's own dates (its clerks)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from booking.accounts.guards import requires_staff
from booking.context import Context
from booking.peakdays import services
from booking.peakdays.schemas import PeakDayCreate, PeakDayList, PeakDayOut
from booking.schemas import INT_MAX, PathId, check_date


class PeakDayController(Controller):
    path = "/api/v1"
    tags = ["peak days"]

    @get("/peak-days", exclude_from_auth=True, summary="Peak days (public): 5·20, 七夕, 2·14 and offices' own",
         description="From today for a year by default (at most 731 days at a time). Each date lists its names "
         "(in the caller's language), its kinds, the offices that made it their own and the ballots that allot "
         "it; with `office_id`, only that office's and `booking` says how it books the date.")
    async def list_peak_days(
        self, ctx: NamedDependency[Context],
        start: Annotated[date | None, QueryParameter(name="from", description="YYYY-MM-DD")] = None,
        end: Annotated[date | None, QueryParameter(name="to", description="YYYY-MM-DD")] = None,
        office_id: Annotated[int | None, QueryParameter(ge=1, le=INT_MAX)] = None,
    ) -> PeakDayList:
        today = ctx.now.astimezone(services.CHINA).date()
        first, last = services.default_range(today, check_date("from", start), check_date("to", end))
        services.check_span(first, last)
        return PeakDayList(data=[PeakDayOut.model_validate(d)
                                 for d in await services.peak_days(ctx.session, first, last, ctx.locale, office_id)])

    @post("/offices/{office_id:int}/peak-days", guards=[requires_staff], status_code=201,
          summary="Add a peak day of the office's own (clerks of the office)")
    async def add(
        self, office_id: PathId, data: JSONBody[PeakDayCreate], ctx: NamedDependency[Context],
    ) -> PeakDayOut:
        row = await services.add_office_peak_day(ctx, office_id, data)
        listed = await services.peak_days(ctx.session, row.day, row.day, ctx.locale, office_id)
        return PeakDayOut.model_validate(listed[0])

    @delete("/offices/{office_id:int}/peak-days/{day:date}", guards=[requires_staff], status_code=204,
            summary="Remove one of the office's own peak days (clerks of the office)")
    async def remove(
        self, office_id: PathId, day: FromPath[date], ctx: NamedDependency[Context],
    ) -> None:
        await services.remove_office_peak_day(ctx, office_id, check_date("day", day) or day)
