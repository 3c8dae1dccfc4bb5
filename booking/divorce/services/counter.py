"""The clerk's desk for divorces: the receipt (受理) that starts a case, the registration at
the certificate visit, and the audited reveal of the parties' numbers. (Withdrawal at the
counter is ``ending.withdraw`` with the party named.) Clerks act on cases of their own
office only; every step, and every refusal, is audited."""

from __future__ import annotations

import uuid
from datetime import time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.appointments.problems import InvalidTransition
from booking.appointments.services import lifecycle
from booking.context import Context
from booking.db.models import Appointment, DivorceCase
from booking.divorce.problems import CertificateNotChecked, NotTheVisitDay, OutsideWindow
from booking.divorce.schemas import CaseOut, CasePartyRevealed
from booking.divorce.services.cases import (
    active_visit,
    case_messages,
    end,
    local_moment,
    lock_case,
    parties_of,
    today,
    visible_case,
    visits_of,
)
from booking.divorce.services.periods import case_dates
from booking.divorce.services.window import in_window
from booking.divorce.views import case_out
from booking.errors import NotFound
from booking.kernel.access import refuse
from booking.kernel.audit import record
from booking.notifications.outbox import add_rows
from booking.offices.directory import OfficeInfo

WINDOW_CLOSING_NOTICE = timedelta(days=7)  # "a week before it closes"


async def _counter_visit(ctx: Context, case_id: uuid.UUID, kind: str,
                         action: str) -> tuple[DivorceCase, Appointment, OfficeInfo]:
    """For a clerk of its office: the case locked with its standing visit of ``kind``, there
    today (a couple, or another office's clerk: not found)."""
    session, principal = ctx.session, ctx.caller
    case, _parties = await visible_case(session, principal, case_id)
    if principal.is_couple:
        raise NotFound()
    office = await ctx.rt.offices.of(case.office_id, session)
    case, appt = await lock_case(session, case_id)
    standing = active_visit(await visits_of(session, case.id))
    expected = "applying" if kind == "application" else "received"
    if (case.status != expected or appt is None or standing is None or standing[0].kind != kind
            or appt.status not in ("confirmed", "checked_in")):
        await refuse(session, principal, action, case, InvalidTransition(), target_type="divorce_case")
    if appt.starts_at.astimezone(office.tz).date() != today(ctx.now, office):
        await refuse(session, principal, action, case, NotTheVisitDay(), target_type="divorce_case")
    return case, appt, office


async def _complete(session: AsyncSession, principal: Principal, appt: Appointment, now: Any) -> None:
    """The visit is done at the counter: checked in (if it was not yet), then completed."""
    if appt.status == "confirmed":
        await lifecycle.apply(session, [appt], lifecycle.CHECK_IN, actor=principal, now=now)
    await lifecycle.apply(session, [appt], lifecycle.COMPLETE, actor=principal, now=now)


async def record_receipt(ctx: Context, case_id: uuid.UUID,
                         certificate_checked: bool) -> CaseOut:
    """Both parties came to the application visit: the office receives the application
    (受理) today, which starts the cooling-off. Where the office holds no record of the
    marriage, the clerk must have checked the marriage certificate."""
    session, principal, now = ctx.session, ctx.caller, ctx.now
    case, appt, office = await _counter_visit(ctx, case_id, "application", "divorce.receipt")
    if case.marriage_record is None and not certificate_checked:
        await refuse(session, principal, "divorce.receipt", case, CertificateNotChecked(), target_type="divorce_case")
    await _complete(session, principal, appt, now)
    dates = case_dates(today(now, office))
    case.status = "received"
    case.received_on, case.received_at, case.received_by = dates.received_on, now, principal.id
    case.cooling_off_ends, case.window_ends = dates.cooling_off_ends, dates.window_ends
    case.dates_provisional = dates.provisional
    case.certificate_checked_by = principal.id if certificate_checked else None
    case.version += 1
    case.updated_at = now
    parties = await parties_of(session, case.id)
    hour = office.rules.reminder_day_before_at
    window_end = local_moment(dates.window_ends + timedelta(days=1), time(0), office)
    rows = case_messages("divorce.received", case, parties, now)
    rows += case_messages("divorce.window_open", case, parties, now, due_at=local_moment(dates.window_opens, hour,
                                                                                           office),
                          not_after=window_end, tag="window_open")
    closing = dates.window_ends - WINDOW_CLOSING_NOTICE
    rows += case_messages("divorce.window_closing", case, parties, now, due_at=local_moment(closing, hour, office),
                          not_after=window_end, tag="window_closing")
    await add_rows(session, rows, now)
    record(session, principal, "divorce.receipt", target_type="divorce_case", target_id=case.id,
           office_id=case.office_id, at=now, received_on=dates.received_on.isoformat(),
           certificate_checked=certificate_checked, marriage_record=case.marriage_record)
    await session.commit()
    return case_out(case, parties, await visits_of(session, case.id), office, principal, today(now, office))


async def register_divorce(ctx: Context,
                           case_id: uuid.UUID) -> CaseOut:
    """Both parties came to the certificate visit inside the window: the divorce is
    registered and the certificates issued."""
    session, principal, now = ctx.session, ctx.caller, ctx.now
    case, appt, office = await _counter_visit(ctx, case_id, "certificate", "divorce.register")
    if not in_window(case, today(now, office)):
        await refuse(session, principal, "divorce.register", case, OutsideWindow(), target_type="divorce_case")
    await _complete(session, principal, appt, now)
    await end(session, case, "registered", actor=principal, now=now, standing=None)
    parties = await parties_of(session, case.id)
    await add_rows(session, case_messages("divorce.registered", case, parties, now), now)
    record(session, principal, "divorce.register", target_type="divorce_case", target_id=case.id,
           office_id=case.office_id, at=now)
    await session.commit()
    return case_out(case, parties, await visits_of(session, case.id), office, principal, today(now, office))


async def reveal(ctx: Context, case_id: uuid.UUID) -> list[CasePartyRevealed]:
    """The parties' full ID numbers and phones, for a clerk of the office; audited."""
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    case, parties = await visible_case(session, principal, case_id)
    if principal.is_couple:
        raise NotFound()
    record(session, principal, "divorce.reveal", target_type="divorce_case", target_id=case.id,
           office_id=case.office_id, at=rt.clock.now(), positions=[p.position for p in parties])
    await session.commit()
    return [CasePartyRevealed(position=p.position, name=p.name, id_type=p.id_type,
                              id_number=rt.vault.decrypt(p.id_enc, context="party.id_number"),
                              phone=rt.vault.decrypt(p.phone_enc, context="party.phone") if p.phone_enc else None)
            for p in parties]
