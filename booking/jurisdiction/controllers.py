"""Jurisdiction policy: the periods (admins edit them) and the assessment for a couple."""

from __future__ import annotations

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from booking.accounts.guards import requires_admin
from booking.context import Context
from booking.jurisdiction import services
from booking.jurisdiction.schemas import (
    AssessIn,
    AssessOut,
    PeriodCreate,
    PeriodList,
    PeriodOut,
    PeriodUpdate,
)
from booking.schemas import PathId


class JurisdictionController(Controller):
    path = "/api/v1/jurisdiction"
    tags = ["jurisdiction"]

    @get("/periods", exclude_from_auth=True, summary="The policy periods (published law)",
         description="Effective-dated: which couples may register where, the documents, pre-review.")
    async def list_periods(self, ctx: NamedDependency[Context]) -> PeriodList:
        return PeriodList(data=await services.list_periods(ctx.session, ctx.locale))

    @post("/periods", guards=[requires_admin], status_code=201, summary="Add a policy period (admins)")
    async def create_period(
        self, data: JSONBody[PeriodCreate], ctx: NamedDependency[Context],
    ) -> PeriodOut:
        return await services.create_period(ctx, data)

    @patch("/periods/{period_id:int}", guards=[requires_admin],
           summary="Edit a policy period, its documents or its provinces and cities (admins)")
    async def update_period(
        self, period_id: PathId, data: JSONBody[PeriodUpdate], ctx: NamedDependency[Context],
    ) -> PeriodOut:
        return await services.update_period(ctx, period_id, data)

    @post("/assessment", exclude_from_auth=True, status_code=200,
          summary="May this couple register at this office on that date, with which documents?",
          description="Only home provinces are sent, never ID numbers.")
    async def assess(self, data: JSONBody[AssessIn], ctx: NamedDependency[Context]) -> AssessOut:
        return await services.assess_for(ctx.rt, data, ctx.locale)
