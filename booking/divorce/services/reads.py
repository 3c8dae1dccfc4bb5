"""Reading cases: a party's own, one case, an office's."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from booking.context import Context
from booking.db.models import DivorceCase, DivorceParty
from booking.divorce.schemas import CaseOut
from booking.divorce.services.cases import parties_of, today, visible_case, visits_of
from booking.divorce.views import case_out


async def get_case(ctx: Context, case_id: uuid.UUID) -> CaseOut:
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    case, parties = await visible_case(session, principal, case_id)
    office = await rt.offices.of(case.office_id, session)
    return case_out(case, parties, await visits_of(session, case.id), office, principal,
                     today(rt.clock.now(), office))


async def _views(ctx: Context, cases: list[DivorceCase]
                 ) -> list[CaseOut]:
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    out = []
    for case in cases:  # a party has a case or two; an office's page is bounded by ``limit``
        office = await rt.offices.of(case.office_id, session)
        out.append(case_out(case, await parties_of(session, case.id), await visits_of(session, case.id), office,
                             principal, today(rt.clock.now(), office)))
    return out


async def list_own(ctx: Context) -> list[CaseOut]:
    """The cases the caller takes part in with their own account, newest first."""
    session, principal = ctx.session, ctx.caller
    mine = select(DivorceParty.case_id).where(DivorceParty.account_id == principal.id)
    cases = list((await session.execute(select(DivorceCase).where(DivorceCase.id.in_(mine))  # type: ignore[attr-defined]
                                        .order_by(DivorceCase.created_at.desc()).limit(20))).scalars().all())  # type: ignore[attr-defined]
    return await _views(ctx, cases)


async def list_office(ctx: Context, office_id: int, *,
                      status: str | None, limit: int, offset: int) -> tuple[list[CaseOut], int]:
    session, principal = ctx.session, ctx.caller
    principal.require_office(office_id)
    query = select(DivorceCase).where(DivorceCase.office_id == office_id)
    if status:
        query = query.where(DivorceCase.status == status)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    cases = list((await session.execute(query.order_by(DivorceCase.created_at.desc()).limit(limit)  # type: ignore[attr-defined]
                                        .offset(offset))).scalars().all())
    return await _views(ctx, cases), total
