"""Offices: public listing and detail; admins create and edit."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from booking.accounts.guards import requires_admin
from booking.context import Context
from booking.kernel.catalog import ServiceName
from booking.offices import services
from booking.offices.schemas import OfficeCreate, OfficeList, OfficeOut, OfficeUpdate
from booking.schemas import Offset, PathId

Limit = Annotated[int, QueryParameter(description="page size", ge=1, le=200)]


class OfficeController(Controller):
    path = "/api/v1/offices"
    tags = ["offices"]

    @get("/", exclude_from_auth=True, summary="List offices", description="Filter by province and service.")
    async def list_offices(
        self,
        ctx: NamedDependency[Context],
        province: Annotated[str | None, QueryParameter(description="GB/T 2260 province code", pattern=r"^[0-9]{2}$")] = None,
        service: Annotated[ServiceName | None, QueryParameter()] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> OfficeList:
        rows, total = await services.list_offices(ctx.session, province=province, service=service,
                                                  limit=limit, offset=offset)
        return OfficeList(data=[services.office_public(o, ctx.locale) for o in rows], total=total,
                          limit=limit, offset=offset)

    @get("/{office_id:int}", exclude_from_auth=True, summary="One office")
    async def get_office(
        self, office_id: PathId, ctx: NamedDependency[Context]
    ) -> OfficeOut:
        return services.office_public(await services.get_office(ctx.session, office_id), ctx.locale)

    @post("/", guards=[requires_admin], status_code=201, summary="Create an office (admins)")
    async def create_office(
        self,
        data: JSONBody[OfficeCreate],
        ctx: NamedDependency[Context],
    ) -> OfficeOut:
        office = await services.create_office(ctx, data)
        return services.office_public(office, ctx.locale)

    @patch("/{office_id:int}", guards=[requires_admin], summary="Edit an office and its booking rules (admins)")
    async def update_office(
        self,
        office_id: PathId,
        data: JSONBody[OfficeUpdate],
        ctx: NamedDependency[Context],
    ) -> OfficeOut:
        office = await services.update_office(ctx, office_id, data)
        ctx.rt.offices.forget(office_id)  # this process sees the edit at once
        return services.office_public(office, ctx.locale)


