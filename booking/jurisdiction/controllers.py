"""Jurisdiction policy: the periods (admins edit them) and the assessment for a couple."""

from __future__ import annotations

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.guards import requires_admin
from booking.accounts.principal import Principal
from booking.jurisdiction import services
from booking.jurisdiction.schemas import (
    AssessIn,
    AssessOut,
    PeriodCreate,
    PeriodList,
    PeriodOut,
    PeriodUpdate,
)
from booking.runtime import Runtime
from booking.schemas import PathId


class JurisdictionController(Controller):
    path = "/api/v1/jurisdiction"
    tags = ["jurisdiction"]

    @get("/periods", exclude_from_auth=True, summary="The policy periods (published law)",
         description="Effective-dated: which couples may register where, the documents, pre-review.")
    async def list_periods(self, session: NamedDependency[AsyncSession], locale: NamedDependency[str]) -> PeriodList:
        return PeriodList(data=await services.list_periods(session, locale))

    @post("/periods", guards=[requires_admin], status_code=201, summary="Add a policy period (admins)")
    async def create_period(
        self, data: JSONBody[PeriodCreate], principal: NamedDependency[Principal],
        session: NamedDependency[AsyncSession], runtime: NamedDependency[Runtime], locale: NamedDependency[str],
    ) -> PeriodOut:
        return await services.create_period(runtime, session, principal, data, locale)

    @patch("/periods/{period_id:int}", guards=[requires_admin],
           summary="Edit a policy period, its documents or its provinces and cities (admins)")
    async def update_period(
        self, period_id: PathId, data: JSONBody[PeriodUpdate], principal: NamedDependency[Principal],
        session: NamedDependency[AsyncSession], runtime: NamedDependency[Runtime], locale: NamedDependency[str],
    ) -> PeriodOut:
        return await services.update_period(runtime, session, principal, period_id, data, locale)

    @post("/assessment", exclude_from_auth=True, status_code=200,
          summary="May this couple register at this office on that date, with which documents?",
          description="Only home provinces are sent, never ID numbers.")
    async def assess(self, data: JSONBody[AssessIn], runtime: NamedDependency[Runtime],
                     locale: NamedDependency[str]) -> AssessOut:
        return await services.assess_for(runtime, data, locale)
