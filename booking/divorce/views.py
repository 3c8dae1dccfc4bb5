"""A case as each viewer may see it.

A party sees their own details (masked) and of the other only the name and whether they
have confirmed: never their phone, e-mail, ID number or hukou. A case withdrawn by one
party shows as ``ended`` to the other, never why or from where. The office (its clerks,
admins) sees both parties masked and how the case ended."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from booking.accounts.principal import Principal
from booking.db.models import Appointment, DivorceCase, DivorceParty, DivorceVisit
from booking.divorce.schemas import CaseOut, CasePartyOut, VisitOut
from booking.divorce.services.cases import active_visit, party_of
from booking.offices.directory import OfficeInfo
from booking.schemas import local

Visits = Sequence[tuple[DivorceVisit, Appointment]]


def state_of(case: DivorceCase, visits: Visits, day: date, viewer_position: int | None) -> str:
    """The case's state on ``day`` as this viewer (a party's position, None for the office) sees it."""
    if case.status == "applying":
        standing = active_visit(visits)
        waiting = standing is not None and standing[1].status == "awaiting_party"
        return "awaiting_confirmation" if waiting else "application_booked"
    if case.status == "received":
        assert case.cooling_off_ends is not None
        return "cooling_off" if day <= case.cooling_off_ends else "certificate_window"
    if case.status == "withdrawn":
        return "withdrawn" if viewer_position in (None, case.ended_by_position) else "ended"
    if case.status == "lapsed":
        return "ended"
    return case.status  # registered, deemed_withdrawn


def next_step(state: str, visits: Visits, position: int) -> str | None:
    """What this party does next (the pages say it in words)."""
    standing = active_visit(visits)
    if state == "awaiting_confirmation":
        return "share_code_with_other_party"
    if state == "application_booked":
        return "attend_application_visit"
    if state == "cooling_off":
        return "wait_for_window"
    if state != "certificate_window":
        return None
    if standing is None:
        return "book_certificate_visit"
    visit, appt = standing
    if appt.status == "awaiting_party":
        return "wait_for_other_party" if visit.booked_by_position == position else "confirm_certificate_visit"
    return "attend_certificate_visit"


def _visit(visit: DivorceVisit, appt: Appointment, office: OfficeInfo, position: int | None) -> VisitOut:
    awaiting = None
    if appt.status == "awaiting_party" and position is not None:
        awaiting = "other_party" if visit.booked_by_position == position else "you"
    return VisitOut(appointment_id=appt.id, kind=visit.kind, code=appt.code,  # type: ignore[arg-type]
                    status=appt.status, starts_at=local(appt.starts_at, office.tz),  # type: ignore[arg-type]
                    ends_at=local(appt.ends_at, office.tz),
                    confirm_by=local(visit.confirm_by, office.tz) if appt.status == "awaiting_party" else None,
                    awaiting=awaiting)  # type: ignore[arg-type]


def _party(p: DivorceParty, *, full: bool) -> CasePartyOut:
    if full:
        return CasePartyOut(position=p.position, name=p.name, id_number=p.id_masked, phone=p.phone_masked,
                            confirmed=p.confirmed_at is not None)
    return CasePartyOut(position=p.position, name=p.name, confirmed=p.confirmed_at is not None)


def case_out(case: DivorceCase, parties: Sequence[DivorceParty], visits: Visits, office: OfficeInfo,
             viewer: Principal, day: date) -> CaseOut:
    me = party_of(parties, viewer)
    position = me.position if me is not None else None
    state = state_of(case, visits, day, position)
    out = CaseOut(
        id=case.id, office_id=case.office_id, state=state,  # type: ignore[arg-type]
        received_on=case.received_on, cooling_off_ends=case.cooling_off_ends,
        window_opens=case.cooling_off_ends + timedelta(days=1) if case.cooling_off_ends is not None else None,
        window_ends=case.window_ends, dates_provisional=case.dates_provisional,
        marriage_record=case.marriage_record, documents=list(case.documents),
        visits=[_visit(v, a, office, position) for v, a in visits])
    if me is not None:
        other = next(p for p in parties if p.position != me.position)
        out.you = _party(me, full=True)
        out.other_party = _party(other, full=False)
        out.next_step = next_step(state, visits, me.position)
    else:  # the office
        out.parties = [_party(p, full=True) for p in parties]
        out.ended_by = case.ended_by_position
        out.ended_via = case.ended_via
    return out
