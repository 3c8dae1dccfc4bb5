"""Who may sign up for which kind of event: the rules are data on the event, checked here
as pure functions of the couple's facts and the event date (DESIGN.md section 5).

- memorial (纪念婚礼): married at least ``min_years_married`` years on the event date;
- collective (集体婚礼): marriage registered within ``registered_within_months`` before the
  event date, or (``allow_upcoming_appointment``) a marriage registration booked in this
  service before the event; optionally both parties at most ``max_age`` on the event date;
- charity (慈善婚礼): always approved by the organiser; ``pledge_or_sponsor_required``.

The marriage date is the one the couple gives, unless this service registered them: then
its record decides.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from booking.errors import InvalidInput, Problem, field_error
from booking.i18n import LazyText, lazy
from booking.parties.identity import add_years, age_on

KIND_RULES: dict[str, dict[str, Any]] = {
    # field -> default (None: required for the kind, or off)
    "memorial": {"min_years_married": None},
    "collective": {"registered_within_months": 12, "allow_upcoming_appointment": True, "max_age": None},
    "charity": {"pledge_or_sponsor_required": False},
}
REQUIRED = {"memorial": ("min_years_married",)}


class NotEligible(Problem):
    """A 422 that names the rule (``rule``) and the fields at fault."""

    status = 422
    code = "not-eligible"
    title = lazy("The couple does not meet this event's conditions.")


def normalise(kind: str, given: dict[str, Any]) -> dict[str, Any]:
    """The stored rules of a kind: only its own fields, defaults filled in. Raises 422 for
    a field of another kind or a missing required one."""
    allowed = KIND_RULES[kind]
    errors = [field_error(f"eligibility.{name}", lazy("This rule does not apply to this kind of event."))
              for name, value in given.items() if value is not None and name not in allowed]
    errors += [field_error(f"eligibility.{name}", lazy("This field is required."))
               for name in REQUIRED.get(kind, ()) if given.get(name) is None]
    if errors:
        raise InvalidInput(errors=errors)
    return {name: given[name] if given.get(name) is not None else default for name, default in allowed.items()}


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier, when negative), clamped to the month's end."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@dataclass(frozen=True, slots=True)
class CoupleFacts:
    birth_dates: tuple[date, date]
    marriage_date: date | None  # as given by the couple
    registered_on: date | None = None  # this service's record of their registration
    appointment_at: datetime | None = None  # their booked marriage registration, if any
    has_pledge_or_sponsor: bool = False


@dataclass(slots=True)
class Verdict:
    eligible_by: str | None = None  # marriage_date | record | appointment | None (no condition)
    marriage_date: date | None = None
    refusals: list[tuple[str, str, LazyText]] = field(default_factory=list)  # (rule, field, message)

    def refuse(self, rule: str, field_name: str, message: LazyText) -> None:
        self.refusals.append((rule, field_name, message))

    def raise_if_refused(self) -> None:
        if self.refusals:
            raise NotEligible(errors=[field_error(f, m) for _r, f, m in self.refusals], rule=self.refusals[0][0],
                              rules=sorted({r for r, _f, _m in self.refusals}))


def check(kind: str, rules: dict[str, Any], couple: CoupleFacts, event_date: date, event_start: datetime,
          today: date) -> Verdict:
    verdict = Verdict()
    married = couple.registered_on or couple.marriage_date
    if married is not None:
        verdict.marriage_date = married
        verdict.eligible_by = "record" if couple.registered_on else "marriage_date"
    if couple.marriage_date is not None and couple.registered_on is None:
        if couple.marriage_date > today or any(couple.marriage_date < born for born in couple.birth_dates):
            verdict.refuse("marriage_date", "marriage_date", lazy("The marriage date is not possible."))
            return verdict
    if kind == "memorial":
        _memorial(rules, married, event_date, verdict)
    elif kind == "collective":
        _collective(rules, couple, married, event_date, event_start, verdict)
    elif kind == "charity" and rules.get("pledge_or_sponsor_required") and not couple.has_pledge_or_sponsor:
        verdict.refuse("charity.pledge_or_sponsor", "pledge",
                       lazy("This charity wedding asks each couple for a pledge or a sponsor."))
    return verdict


def _memorial(rules: dict[str, Any], married: date | None, event_date: date, verdict: Verdict) -> None:
    years = int(rules["min_years_married"])
    if married is None:
        verdict.refuse("memorial.min_years_married", "marriage_date",
                       lazy("The marriage date is needed for this event."))
    elif add_years(married, years) > event_date:
        verdict.refuse("memorial.min_years_married", "marriage_date",
                       lazy("The couple must have been married at least {years} years on the event date.",
                            years=years))


def _collective(rules: dict[str, Any], couple: CoupleFacts, married: date | None, event_date: date,
                event_start: datetime, verdict: Verdict) -> None:
    months = rules.get("registered_within_months")
    booked = (rules.get("allow_upcoming_appointment") and couple.appointment_at is not None
              and couple.appointment_at < event_start)
    if booked and (married is None or not _within(married, months, event_date)):
        verdict.eligible_by = "appointment"
    elif married is None:
        verdict.refuse("collective.registered_within", "marriage_date",
                       lazy("The marriage date, or a marriage registration booked here before the event, "
                            "is needed for this event."))
    elif not _within(married, months, event_date):
        verdict.refuse("collective.registered_within", "marriage_date",
                       lazy("The marriage must have been registered within {months} months before the event.",
                            months=months))
    max_age = rules.get("max_age")
    if max_age is not None:
        for index, born in enumerate(couple.birth_dates):
            if age_on(born, event_date) > int(max_age):
                verdict.refuse("collective.max_age", f"parties.{index}.id_number",
                               lazy("Both parties must be at most {age} years old on the event date.", age=max_age))


def _within(married: date, months: int | None, event_date: date) -> bool:
    if married > event_date:
        return False
    return months is None or married >= add_months(event_date, -int(months))
