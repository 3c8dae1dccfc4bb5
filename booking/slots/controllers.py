"""Availability (public), slot generation and slot changes (clerks)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from litestar import Controller, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from booking.accounts.guards import requires_staff
from booking.context import Context
from booking.errors import invalid
from booking.i18n import lazy
from booking.kernel.catalog import ServiceName
from booking.peakdays.services import peak_days
from booking.schedules.official_calendar import holiday_name
from booking.schemas import PathId
from booking.slots import services
from booking.slots.availability import MAX_SPAN_DAYS, AvailabilityReader
from booking.slots.generation import generate_slots
from booking.slots.schemas import (
    AvailabilityOut,
    GeneratedDay,
    GenerateIn,
    GenerateOut,
    SlotList,
    SlotOut,
    SlotUpdate,
)


class AvailabilityController(Controller):
    path = "/api/v1/offices/{office_id:int}"
    tags = ["slots"]

    @get(
        "/availability",
        exclude_from_auth=True,
        summary="Bookable slots of an office",
        description="Only released days, only slots before their cut-off, with the remaining capacity. "
        "Times are ISO 8601 in the office's timezone.",
        response_headers=None,
    )
    async def availability(
        self,
        office_id: PathId,
        service: Annotated[ServiceName, QueryParameter()],
        ctx: NamedDependency[Context],
        start: Annotated[date | None, QueryParameter(name="from", description="YYYY-MM-DD")] = None,
        end: Annotated[date | None, QueryParameter(name="to", description="YYYY-MM-DD")] = None,
    ) -> Response[AvailabilityOut]:
        reader: AvailabilityReader = ctx.rt.availability
        body = await reader.read(office_id, service, start, end, ctx.now)
        return Response(content=body, media_type="application/json")

    @post("/slots/generate", guards=[requires_staff], status_code=200, summary="Generate slots for a date range",
          description="Skips public holidays, opens on make-up working days (调休), applies closures and "
          "special openings. Idempotent: existing slots are never changed.")
    async def generate(
        self,
        office_id: PathId,
        data: JSONBody[GenerateIn],
        ctx: NamedDependency[Context],
    ) -> GenerateOut:
        result = await generate_slots(ctx, office_id, data.from_, data.to,
                                      allow_unannounced=data.allow_unannounced_years)
        # which of these days are peak days, and whether a ballot allots them yet
        peaks = await peak_days(ctx.session, data.from_, data.to, ctx.locale, office_id)
        names = {p["date"]: p["names"] for p in peaks}
        return GenerateOut(
            created=result.created,
            existing=result.existing,
            assumed_years=result.assumed_years,
            days=[GeneratedDay(date=d.day, status=d.status, windows=len(d.windows), announced=d.announced,
                               holiday=holiday_name(d.holiday, ctx.locale), peak=names.get(d.day.isoformat()))
                  for d in result.days],
            peak_days=peaks,
        )

    @get("/slots", guards=[requires_staff], summary="All slots of the office in a date range (clerks)")
    async def list_slots(
        self,
        office_id: PathId,
        ctx: NamedDependency[Context],
        start: Annotated[date, QueryParameter(name="from")],
        end: Annotated[date, QueryParameter(name="to")],
        service: Annotated[ServiceName | None, QueryParameter()] = None,
    ) -> SlotList:
        if end < start or end - start > timedelta(days=MAX_SPAN_DAYS):
            raise invalid("to", lazy("At most {days} days at a time.", days=MAX_SPAN_DAYS))
        rows = await services.list_slots(ctx, office_id, start, end, service)
        return SlotList(data=[services.slot_out(s) for s in rows])


class SlotController(Controller):
    path = "/api/v1/slots"
    tags = ["slots"]
    guards = [requires_staff]

    @patch("/{slot_id:int}", summary="Change a slot's capacity or close it (clerks)",
           description="Closing a slot cancels the appointments standing on it, as a closure of the "
                       "day does: each couple is told, with a calendar CANCEL.")
    async def patch_slot(
        self,
        slot_id: PathId,
        data: JSONBody[SlotUpdate],
        ctx: NamedDependency[Context],
    ) -> SlotOut:
        slot = await services.patch_slot(ctx, slot_id, data)
        return services.slot_out(slot)
