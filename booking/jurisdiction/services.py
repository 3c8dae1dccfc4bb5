"""Admins keep the policy periods; anyone may ask what the policy says for a couple."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.context import Context
from booking.db.models import JurisdictionArea, JurisdictionPeriod
from booking.db.unique import flush_or
from booking.errors import Conflict, NotFound, invalid
from booking.i18n import lazy
from booking.jurisdiction.periods import office_area
from booking.jurisdiction.policy import DOCUMENT_KINDS, UNANSWERED, Assessment, PartyHome, assess
from booking.jurisdiction.schemas import (
    AssessIn,
    AssessOut,
    DocumentRequirement,
    PeriodCreate,
    PeriodOut,
    PeriodRef,
    PeriodUpdate,
)
from booking.kernel.audit import record
from booking.runtime import Runtime


class PeriodCodeTaken(Conflict):
    code = "policy-period-code-taken"
    title = lazy("A policy period with this code already exists.")


async def _areas(session: AsyncSession, period_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    found: dict[int, dict[str, list[str]]] = {}
    if not period_ids:
        return found
    rows = await session.execute(
        select(JurisdictionArea.period_id, JurisdictionArea.service, JurisdictionArea.area_code)
        .where(JurisdictionArea.period_id.in_(period_ids))  # type: ignore[attr-defined]
        .order_by(JurisdictionArea.period_id, JurisdictionArea.service, JurisdictionArea.area_code))
    for period_id, service, code in rows:
        found.setdefault(period_id, {}).setdefault(service, []).append(code)
    return found


def period_out(row: JurisdictionPeriod, areas: dict[str, list[str]], locale: str) -> PeriodOut:
    return PeriodOut(
        id=row.id or 0, code=row.code, title=row.title_zh if locale.startswith("zh") else row.title_en,
        title_zh=row.title_zh, title_en=row.title_en, legal_basis=row.legal_basis,
        effective_from=row.effective_from, effective_to=row.effective_to, rule=row.rule,
        documents_local=list(row.documents_local), documents_nonlocal=list(row.documents_nonlocal),
        prereview=row.prereview, areas=areas, note=row.note, updated_at=row.updated_at)


async def list_periods(session: AsyncSession, locale: str) -> list[PeriodOut]:
    rows = list((await session.execute(
        select(JurisdictionPeriod).order_by(JurisdictionPeriod.effective_from, JurisdictionPeriod.id))).scalars())
    areas = await _areas(session, [r.id or 0 for r in rows])
    return [period_out(r, areas.get(r.id or 0, {}), locale) for r in rows]


async def _replace_areas(session: AsyncSession, period_id: int, areas: dict[str, list[str]]) -> None:
    await session.execute(delete(JurisdictionArea).where(JurisdictionArea.period_id == period_id))
    rows = [{"period_id": period_id, "service": service, "area_code": code}
            for service, codes in areas.items() for code in codes]
    if rows:
        await session.execute(insert(JurisdictionArea), rows)


async def create_period(ctx: Context, data: PeriodCreate) -> PeriodOut:
    rt, session, principal, locale = ctx.rt, ctx.session, ctx.caller, ctx.locale
    now = rt.clock.now()
    row = JurisdictionPeriod(**data.model_dump(exclude={"areas"}), created_at=now, updated_at=now)
    session.add(row)
    await flush_or(session, PeriodCodeTaken())
    await _replace_areas(session, row.id or 0, dict(data.areas))
    record(session, principal, "jurisdiction.period.create", target_type="jurisdiction_period",
           target_id=row.id, office_id=None, at=now, code=row.code)
    await session.commit()
    rt.policy.forget()
    return period_out(row, (await _areas(session, [row.id or 0])).get(row.id or 0, {}), locale)


async def update_period(ctx: Context, period_id: int,
                        data: PeriodUpdate) -> PeriodOut:
    rt, session, principal, locale = ctx.rt, ctx.session, ctx.caller, ctx.locale
    now = rt.clock.now()
    row = await session.get(JurisdictionPeriod, period_id, with_for_update=True)
    if row is None:
        raise NotFound()
    changes: dict[str, Any] = data.model_dump(exclude_unset=True, exclude={"areas"})
    for field in ("title_zh", "title_en", "legal_basis", "effective_from", "rule", "documents_local",
                  "documents_nonlocal", "prereview"):
        if field in changes and changes[field] is None:
            raise invalid(field, lazy("This field cannot be empty."))
    for key, value in changes.items():
        setattr(row, key, value)
    if row.effective_to is not None and row.effective_to < row.effective_from:
        await session.rollback()
        raise invalid("effective_to", lazy("The end date must not be before the start date."))
    row.updated_at = now
    fields = sorted(changes)
    if data.areas is not None:
        await _replace_areas(session, period_id, dict(data.areas))
        fields.append("areas")
    record(session, principal, "jurisdiction.period.update", target_type="jurisdiction_period",
           target_id=period_id, office_id=None, at=now, code=row.code, fields=fields)
    await session.commit()
    rt.policy.forget()
    return period_out(row, (await _areas(session, [period_id])).get(period_id, {}), locale)


def assessment_out(verdict: Assessment, locale: str) -> AssessOut:
    return AssessOut(
        may_register=verdict.may_register, prereview=verdict.prereview, reason=verdict.reason,
        documents=[DocumentRequirement(kind=k, title=DOCUMENT_KINDS[k].title.render(locale),
                                       per_party=DOCUMENT_KINDS[k].per_party)
                   for k in verdict.documents if k in DOCUMENT_KINDS],
        period=PeriodRef(id=verdict.period.id, code=verdict.period.code) if verdict.period else None)


async def assess_for(rt: Runtime, data: AssessIn, locale: str) -> AssessOut:
    office = await rt.offices.get(data.office_id)
    if office is None:
        raise NotFound()
    permit = (data.residence_permit_division if "residence_permit_division" in data.model_fields_set
              else UNANSWERED)
    verdict = assess(office_area(office), data.service,
                     [PartyHome(p.hukou_province, p.id_type.value) for p in data.parties], data.date,
                     await rt.policy.periods(), residence_permit=permit)
    return assessment_out(verdict, locale)
