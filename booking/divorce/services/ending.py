"""How a case ends before its certificate: withdrawn by a party (online, or at the counter
through a clerk) within the cooling-off; lapsed when its application visit never took
place; withdrawn by law when no certificate visit was completed by the window's end.

Whoever ends it, the other party is told only that the case ended: never why, by whom or
from where (the office keeps that, audited)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import SYSTEM, Principal
from booking.appointments.services import lifecycle
from booking.context import Context
from booking.db.locking import Busy, lock_rows
from booking.db.models import Appointment, DivorceCase, DivorceVisit
from booking.divorce.problems import CaseClosed, NotInCoolingOff
from booking.divorce.schemas import CaseOut
from booking.divorce.services.cases import (
    case_messages,
    end,
    lock_case,
    other_than,
    parties_of,
    today,
    visible_case,
    visits_of,
)
from booking.divorce.views import case_out
from booking.errors import invalid
from booking.i18n import lazy
from booking.kernel.access import refuse
from booking.kernel.audit import record
from booking.notifications.outbox import add_rows
from booking.runtime import Runtime

logger = logging.getLogger("booking.divorce")

ENDED = "divorce.ended"  # to a party who did not end it: that it ended, nothing more
WITHDRAWN = "divorce.withdrawn"  # to the party who withdrew


def invited_visit(standing: Appointment | None) -> dict[str, str] | None:
    """The payload naming the case's visit when its parties hold its invite (it was
    confirmed): the case's end notice then carries the calendar's CANCEL."""
    if standing is not None and standing.status in ("confirmed", "checked_in"):
        return {"visit": str(standing.id)}
    return None


async def withdraw(ctx: Context, case_id: uuid.UUID,
                   party: int | None = None) -> CaseOut:
    """A party withdraws the application: online by their own account, or at the counter
    (a clerk of the office names which party, whose identity they checked). Until the
    cooling-off's last day; before receipt it cancels the application visit."""
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    now = rt.clock.now()
    case, parties = await visible_case(session, principal, case_id)
    office = await rt.offices.of(case.office_id, session)
    if principal.is_couple:
        me = next(p for p in parties if p.account_id == principal.id)
        position, via = me.position, "online"
    else:
        if party is None:
            raise invalid("party", lazy("Say which party withdraws."))
        position, via = party, "counter"
    case, standing = await lock_case(session, case_id)
    if case.status not in ("applying", "received"):
        await refuse(session, principal, "divorce.withdraw", case, CaseClosed(), target_type="divorce_case")
    if case.status == "received" and today(now, office) > (case.cooling_off_ends or today(now, office)):
        await refuse(session, principal, "divorce.withdraw", case, NotInCoolingOff(), target_type="divorce_case")
    invited = invited_visit(standing)
    await end(session, case, "withdrawn", actor=principal, now=now, standing=standing, by_position=position, via=via)
    parties = await parties_of(session, case.id)
    rows = case_messages(WITHDRAWN, case, parties, now, positions=[position], payload=invited)
    rows += case_messages(ENDED, case, parties, now, positions=[other_than(parties, position).position],
                          payload=invited)
    await add_rows(session, rows, now)
    if not principal.is_couple:
        record(session, principal, "divorce.withdraw", target_type="divorce_case", target_id=case.id,
               office_id=case.office_id, at=now, party=position, via=via)
    await session.commit()
    return case_out(case, parties, await visits_of(session, case.id), office, principal, today(now, office))


async def follow_visits(session: AsyncSession, appts: Sequence[Appointment], t: lifecycle.Transition,
                        actor: Principal, now: datetime) -> None:
    """The lifecycle's follower for divorce visits (registered at wiring): an application
    visit that ends without its receipt (not confirmed in time, missed, turned away,
    cancelled by the office) lapses its case; a certificate visit not confirmed in time
    is told to both. Receipt and registration complete visits themselves (``counter.py``),
    and a case that ends takes its visit along (``END_WITH_CASE``)."""
    if t.target in lifecycle.ACTIVE or t in (lifecycle.COMPLETE, lifecycle.END_WITH_CASE):
        return
    for appt in appts:
        visit = await session.get(DivorceVisit, appt.id)
        if visit is None:
            continue
        case = (await lock_rows(session, DivorceCase, [visit.case_id]))[0]
        parties = await parties_of(session, case.id)
        if visit.kind == "application" and case.status == "applying":
            await end(session, case, "lapsed", actor=actor, now=now, standing=None)
            await add_rows(session, case_messages(ENDED, case, parties, now), now)
        elif visit.kind == "certificate" and t is lifecycle.EXPIRE_UNCONFIRMED and case.status == "received":
            case.version += 1
            await add_rows(session, case_messages("divorce.visit_lapsed", case, parties, now,
                                                  payload={"visit": str(appt.id)}), now)


async def expire_unconfirmed(rt: Runtime, limit: int = 200) -> int:
    """Visits the other party did not confirm by their time give their seat back (the
    follower lapses an application's case). Idempotent: each is re-checked under its lock."""
    now = rt.clock.now()
    async with rt.db.session() as session:
        due = list((await session.execute(
            select(DivorceVisit.appointment_id).join(Appointment, Appointment.id == DivorceVisit.appointment_id)
            .where(DivorceVisit.confirmed_at.is_(None), DivorceVisit.confirm_by <= now,  # type: ignore[union-attr]
                   Appointment.status == "awaiting_party")
            .order_by(DivorceVisit.confirm_by).limit(limit))).scalars().all())
    done = 0
    for appointment_id in due:
        async with rt.db.session() as session:
            try:
                appt = await lifecycle.lock_for_change(session, appointment_id)
            except Busy:
                continue  # someone is changing it: the next run sees it again
            if appt is None or appt.status != "awaiting_party":
                continue
            await lifecycle.apply(session, [appt], lifecycle.EXPIRE_UNCONFIRMED, actor=SYSTEM, now=now)
            await session.commit()
            done += 1
    return done


async def close_lapsed_windows(rt: Runtime, limit: int = 200) -> int:
    """Cases received whose certificate window ended (in the office's timezone) without a
    certificate: withdrawn by law (Civil Code art. 1077: 视为撤回). Idempotent: a case is
    re-checked under its lock, and a closed one is left alone."""
    now = rt.clock.now()
    async with rt.db.session() as session:
        # every timezone's today is within a day of UTC's: a cheap bound, checked per office below
        candidates = list((await session.execute(
            select(DivorceCase.id, DivorceCase.office_id).where(
                DivorceCase.status == "received",
                DivorceCase.window_ends < (now + timedelta(days=1)).date())  # type: ignore[operator]
            .order_by(DivorceCase.window_ends).limit(limit))).all())
    done = 0
    for case_id, office_id in candidates:
        async with rt.db.session() as session:
            office = await rt.offices.of(office_id, session)
            try:
                case, standing = await lock_case(session, case_id)
            except Busy:
                continue
            if case.status != "received" or case.window_ends is None or case.window_ends >= today(now, office):
                continue
            invited = invited_visit(standing)
            await end(session, case, "deemed_withdrawn", actor=SYSTEM, now=now, standing=standing)
            await add_rows(session, case_messages(ENDED, case, await parties_of(session, case.id), now,
                                                  payload=invited), now)
            record(session, SYSTEM, "divorce.deemed_withdrawn", target_type="divorce_case", target_id=case.id,
                   office_id=case.office_id, at=now, window_ends=case.window_ends.isoformat(), automatic=True)
            await session.commit()
            done += 1
    if done:
        logger.info("divorce cases withdrawn by law", extra={"count": done})
    return done
