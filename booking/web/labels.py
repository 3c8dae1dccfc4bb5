"""Words the pages show for the service's codes (statuses, kinds, ID types) and an event's
conditions in plain language; all through the catalogs."""

from __future__ import annotations

from typing import Any

from booking.i18n import LazyText, lazy
from booking.jurisdiction.policy import DOCUMENT_KINDS

STATUS = {
    # appointments
    "pending_review": lazy("Awaiting the office's review"),
    "confirmed": lazy("Confirmed"),
    "checked_in": lazy("Checked in"),
    "completed": lazy("Completed"),
    "no_show": lazy("Missed"),
    "cancelled": lazy("Cancelled"),
    "turned_away": lazy("Turned away"),
    # cross-province applications
    "submitted": lazy("With the office"),
    "needs_more_info": lazy("The office asks for more"),
    "approved": lazy("Approved"),
    "rejected": lazy("Rejected"),
    "withdrawn": lazy("Withdrawn"),
    "expired": lazy("Expired"),
    # sign-ups
    "pending_approval": lazy("Awaiting the organiser's approval"),
    "waitlisted": lazy("On the waitlist"),
    "attended": lazy("Attended"),
    "published": lazy("Open"),
    # ballot entries
    "entered": lazy("Entered: waiting for the draw"),
    "won": lazy("Drawn: appointment confirmed"),
    "lapsed": lazy("Not drawn: the day's booking has closed"),
}

# a ballot as couples see it
BALLOT_STATE = {
    "scheduled": lazy("Entries open soon"),
    "open": lazy("Entries open"),
    "closed": lazy("Entries closed: the draw is coming"),
    "drawn": lazy("Drawn"),
}

EVENT_KIND = {
    "collective": lazy("Collective wedding"),
    "charity": lazy("Charity wedding"),
    "memorial": lazy("Memorial wedding"),
}

ID_TYPE = {
    "resident_id": lazy("Resident identity card"),
    "hmt_residence_permit": lazy("Residence permit for Hong Kong, Macao and Taiwan residents"),
    "hk_macao_permit": lazy("Mainland travel permit for Hong Kong and Macao residents"),
    "taiwan_permit": lazy("Mainland travel permit for Taiwan residents"),
    "passport": lazy("Passport"),
}

SEX = {"M": lazy("Male"), "F": lazy("Female")}

# a divorce case's state as a party or the office sees it, and its next step
DIVORCE_STATE = {
    "awaiting_confirmation": lazy("Waiting for the other party's confirmation"),
    "application_booked": lazy("Application visit booked"),
    "cooling_off": lazy("Cooling-off period"),
    "certificate_window": lazy("Certificate window open"),
    "registered": lazy("Divorce registered"),
    "withdrawn": lazy("Withdrawn"),
    "deemed_withdrawn": lazy("Withdrawn by law (no certificate visit in time)"),
    "ended": lazy("Ended"),
}
DIVORCE_NEXT = {
    "share_code_with_other_party": lazy("Give the other party the booking code: they confirm the visit with their "
                                        "own account."),
    "attend_application_visit": lazy("Both of you come to the application visit with your identity cards, the "
                                     "marriage certificate and the signed divorce agreement."),
    "wait_for_window": lazy("Nothing to do until the cooling-off period ends; until then either of you may withdraw."),
    "book_certificate_visit": lazy("Book the certificate visit; the other party confirms it."),
    "wait_for_other_party": lazy("Waiting for the other party to confirm the certificate visit."),
    "confirm_certificate_visit": lazy("Confirm the certificate visit."),
    "attend_certificate_visit": lazy("Both of you come to the certificate visit in person."),
}
# the documents a couple brings, as the jurisdiction policy names them
DOCUMENT = {kind: spec.title for kind, spec in DOCUMENT_KINDS.items()}


# a day as slot generation plans it (booking.slots.generation.DayPlan.status)
DAY_STATUS = {
    "open": lazy("Open"),
    "holiday": lazy("Holiday: closed"),
    "weekend": lazy("Weekend: closed"),
    "closure": lazy("Closed by the office"),
    "makeup_workday": lazy("Make-up working day (调休): open"),
    "special_opening": lazy("Special opening"),
    "no_schedule": lazy("No windows in the weekly schedule"),
}
# why a slot is closed (booking.db.models.ClosedReason)
CLOSED_REASON = {
    "clerk": lazy("Closed by a clerk"),
    "closure": lazy("Closed with its day"),
    "opening_removed": lazy("Its special opening was removed"),
}


def label(table: dict[str, LazyText], code: str | None) -> LazyText | str:
    return table.get(code or "", code or "")


def event_conditions(kind: str, rules: dict[str, Any], guests_per_couple: int,
                     requires_approval: bool) -> list[LazyText]:
    """Who may sign up, in plain words, from the event's stored rules."""
    words: list[LazyText] = []
    if kind == "memorial" and rules.get("min_years_married"):
        words.append(lazy("For couples married at least {years} years on the day of the event.",
                          years=rules["min_years_married"]))
    if kind == "collective":
        months = rules.get("registered_within_months")
        if months:
            words.append(lazy("For couples whose marriage was registered within {months} months before the "
                              "event.", months=months))
        if rules.get("allow_upcoming_appointment"):
            words.append(lazy("A marriage registration booked here before the event counts too."))
        if rules.get("max_age"):
            words.append(lazy("Both partners at most {age} years old on the day of the event.",
                              age=rules["max_age"]))
    if kind == "charity" and rules.get("pledge_or_sponsor_required"):
        words.append(lazy("Each couple gives a pledge or names a sponsor."))
    if requires_approval:
        words.append(lazy("The organiser approves each couple."))
    if guests_per_couple:
        words.append(lazy("Up to {guests} guests per couple.", guests=guests_per_couple))
    return words


def needs_marriage_date(kind: str) -> bool:
    return kind in ("memorial", "collective")
