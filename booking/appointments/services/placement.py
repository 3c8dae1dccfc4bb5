"""May these two parties take this slot? The one validation step of booking, the walk-in at
the counter and reschedule: the slot's service, its release and cut-off, the law's rules
for the parties on that date, and the jurisdiction policy in force on it.

Pure: everything it needs is passed in (the slot's fixed facts, the office, the policy
periods from their caches), so the booking hot path pays no round trip for it; whatever
can change under it (seats, open or closed, other bookings, bans) the write checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from booking.appointments.problems import PERMIT_REQUIRED, NotInJurisdiction, SlotNotBookable
from booking.errors import InvalidInput, field_error, invalid
from booking.i18n import lazy
from booking.jurisdiction.periods import office_area
from booking.jurisdiction.policy import UNANSWERED, Assessment, PartyHome, Period, Unanswered, assess
from booking.kernel.catalog import DIVORCE
from booking.offices.directory import OfficeInfo
from booking.parties.rules import PartyFacts, check_parties


class SlotLike(Protocol):
    @property
    def office_id(self) -> int: ...
    @property
    def service(self) -> str: ...
    @property
    def local_date(self) -> date: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Party:
    """A party as the rules see it: who (for the law's rules) and from where (for the policy)."""

    facts: PartyFacts
    home: PartyHome


def release_problem(office: OfficeInfo, slot: SlotLike, now: datetime, *,
                    counter: bool) -> SlotNotBookable | None:
    """Not released yet, or past its cut-off. The online cut-off (e.g. 15:00 the day
    before) does not bind the counter: a clerk books a walk-in couple into any slot of a
    released day that has not ended."""
    rules = office.rules
    now_local = now.astimezone(office.tz)
    if slot.local_date > rules.last_released_date(now_local):
        opens = rules.release_moment(slot.local_date, office.tz)
        return SlotNotBookable(lazy("Booking for this date opens at {opens}.", opens=opens.isoformat()),
                               opens_at=opens.isoformat())
    if counter:
        if slot.ends_at <= now:
            return SlotNotBookable(lazy("Booking for this slot has closed."))
    elif slot.local_date < rules.first_bookable_date(now_local) or slot.starts_at <= now:
        return SlotNotBookable(lazy("Booking for this slot has closed."))
    return None


def check_placement(office: OfficeInfo, slot: SlotLike, service: str, parties: Sequence[Party], now: datetime,
                    periods: Sequence[Period], *, counter: bool,
                    residence_permit: str | None | Unanswered = UNANSWERED, case_visit: bool = False) -> Assessment:
    """The verdict of the policy for a placement the rules allow; raises the problem of
    the first rule that refuses it. A divorce is a case of two visits, each placed by
    ``booking.divorce`` (``case_visit``), never booked or moved as a single appointment."""
    if service not in office.services or slot.service != service:
        raise invalid("service", lazy("The slot is not for this service."))
    if service == DIVORCE and not case_visit:
        raise invalid("service", lazy("A divorce registration is applied for as a case, by one party naming the "
                                      "other, at /api/v1/divorce-cases."))
    problem = release_problem(office, slot, now, counter=counter)
    if problem is not None:
        raise problem
    return check_couple(office, service, slot.local_date, parties, periods, residence_permit=residence_permit)


def check_couple(office: OfficeInfo, service: str, on: date, parties: Sequence[Party], periods: Sequence[Period],
                 *, residence_permit: str | None | Unanswered = UNANSWERED) -> Assessment:
    """The rules of the couple on a date, whatever the slot: the law's for the parties, then
    the policy's verdict (raises the problem of the first rule that refuses). A ballot's
    entry, for a day not released yet, is checked with this alone."""
    refusals = check_parties(service, [p.facts for p in parties], on)
    if refusals:
        raise InvalidInput(errors=[field_error(r.field, r.message) for r in refusals])
    verdict = assess(office_area(office), service, [p.home for p in parties], on, periods,
                     residence_permit=residence_permit)
    if not verdict.may_register:
        if verdict.reason == "residence_permit_required":
            raise NotInJurisdiction(PERMIT_REQUIRED, reason=verdict.reason)
        raise NotInJurisdiction(reason=verdict.reason)
    return verdict
