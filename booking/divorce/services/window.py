"""The certificate visit: booked by either party for a day inside the certificate window
(the 30 days after the cooling-off, each end moved past rest days), standing once the
other confirms with their own account; either may cancel it before the office's deadline
and book another while the window lasts."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from booking.appointments.problems import CancelDeadlinePassed, PartyAlreadyBooked
from booking.appointments.queries import parties_of as visit_parties
from booking.appointments.services import lifecycle
from booking.appointments.services.changes import stored_parties
from booking.appointments.services.placement import check_placement
from booking.context import Context
from booking.db.models import DivorceCase, Slot
from booking.db.unique import flush_refusing
from booking.divorce.problems import CaseClosed, NothingToConfirm, OutsideWindow, VisitAlreadyBooked
from booking.divorce.schemas import CaseOut
from booking.divorce.services.apply import new_visit, refuse_banned, take_visit_seat
from booking.divorce.services.cases import (
    ONE_ACTIVE_BOOKING,
    active_visit,
    case_messages,
    lock_case,
    other_than,
    parties_of,
    party_of,
    today,
    visible_case,
    visit_party,
    visits_of,
)
from booking.divorce.views import case_out
from booking.errors import NotFound, invalid
from booking.i18n import lazy
from booking.kernel.catalog import DIVORCE
from booking.notifications.outbox import add_rows


def in_window(case: DivorceCase, day: Any) -> bool:
    if case.status != "received" or case.cooling_off_ends is None or case.window_ends is None:
        return False
    return case.cooling_off_ends < day <= case.window_ends


async def _application_rows(session: AsyncSession, case_id: uuid.UUID) -> dict[int, Any]:
    """Each party's row of the application visit (what the office received), by position."""
    application = next(a for v, a in await visits_of(session, case_id) if v.kind == "application")
    return {p.position: p for p in await visit_parties(session, application.id)}


async def book_certificate_visit(ctx: Context, case_id: uuid.UUID,
                                 slot_id: int) -> CaseOut:
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    now = rt.clock.now()
    periods = await rt.policy.periods()  # before this session writes (``apply.py``)
    case, parties = await visible_case(session, principal, case_id)
    me = party_of(parties, principal)
    if me is None:
        raise NotFound()
    office = await rt.offices.of(case.office_id, session)
    if case.status not in ("applying", "received"):
        raise CaseClosed()
    if not in_window(case, today(now, office)):
        raise OutsideWindow()
    slot = await session.get(Slot, slot_id)
    if slot is None or slot.office_id != case.office_id or slot.service != DIVORCE:
        raise invalid("slot_id", lazy("No such slot."))
    if not in_window(case, slot.local_date):
        raise OutsideWindow()
    rows = await _application_rows(session, case.id)
    check_placement(office, slot, DIVORCE, stored_parties(rt.vault, list(rows.values())), now, periods, counter=False,
                    case_visit=True)
    await refuse_banned(session, office, me.id_hash, now)
    await take_visit_seat(session, slot)
    case, standing = await lock_case(session, case.id)
    if standing is not None:
        await session.rollback()
        raise VisitAlreadyBooked()
    if case.status != "received":
        await session.rollback()
        raise CaseClosed()
    appt, visit = new_visit(case, slot, principal, "certificate", me.position, office, me.locale, now)
    session.add(appt)
    await session.flush()
    session.add_all([visit, visit_party(rows[me.position], appt.id, me.position, principal.id, me.locale)])
    await flush_refusing(session, {ONE_ACTIVE_BOOKING: PartyAlreadyBooked(party=me.position)})
    case.version += 1
    case.updated_at = now
    parties = await parties_of(session, case.id)
    other = other_than(parties, me.position)
    payload = {"visit": str(appt.id)}
    await add_rows(session, case_messages("divorce.visit_booked", case, parties, now, positions=[me.position],
                                          payload=payload)
                   + case_messages("divorce.visit_to_confirm", case, parties, now, positions=[other.position],
                                   payload=payload), now)
    await session.commit()
    return case_out(case, parties, await visits_of(session, case.id), office, principal, today(now, office))


async def confirm_certificate_visit(ctx: Context,
                                    case_id: uuid.UUID) -> CaseOut:
    """The party who did not book it confirms the certificate visit: it stands from now."""
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    now = rt.clock.now()
    case, parties = await visible_case(session, principal, case_id)
    me = party_of(parties, principal)
    if me is None:
        raise NotFound()
    office = await rt.offices.of(case.office_id, session)
    case, appt = await lock_case(session, case.id)
    visits = await visits_of(session, case.id)
    standing = active_visit(visits)
    if (case.status != "received" or appt is None or standing is None or appt.status != "awaiting_party"
            or standing[0].kind != "certificate" or standing[0].booked_by_position == me.position):
        raise NothingToConfirm()
    rows = await _application_rows(session, case.id)
    session.add(visit_party(rows[me.position], appt.id, me.position, principal.id, me.locale))
    await flush_refusing(session, {ONE_ACTIVE_BOOKING: PartyAlreadyBooked(party=me.position)})
    standing[0].confirmed_at = now
    case.version += 1
    case.updated_at = now
    await lifecycle.apply(session, [appt], lifecycle.CONFIRM_BY_PARTY, actor=principal, now=now, office=office)
    await session.commit()
    return case_out(case, parties, await visits_of(session, case.id), office, principal, today(now, office))


async def cancel_certificate_visit(ctx: Context,
                                   case_id: uuid.UUID) -> CaseOut:
    """Either party cancels the certificate visit (until the office's deadline); the case
    stays in its window. Whoever stood on it is told it is cancelled, not by whom."""
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    now = rt.clock.now()
    case, parties = await visible_case(session, principal, case_id)
    if party_of(parties, principal) is None:
        raise NotFound()
    office = await rt.offices.of(case.office_id, session)
    case, appt = await lock_case(session, case.id)
    standing = active_visit(await visits_of(session, case.id))
    if appt is None or standing is None or standing[0].kind != "certificate" or not lifecycle.allowed(
            appt, lifecycle.CANCEL_BY_COUPLE, principal):
        raise NothingToConfirm(lazy("No certificate visit of this case can be cancelled."))
    deadline = office.rules.cancel_deadline(appt.starts_at)
    if now > deadline:
        raise CancelDeadlinePassed(deadline=deadline.astimezone(office.tz).isoformat())
    await lifecycle.apply(session, [appt], lifecycle.CANCEL_BY_COUPLE, actor=principal, now=now)
    case.version += 1
    case.updated_at = now
    await session.commit()
    return case_out(case, parties, await visits_of(session, case.id), office, principal, today(now, office))
