"""What refuses a step of a divorce case: stable codes, titles in the caller's language.
None of them says anything of the other party beyond the case's state."""

from __future__ import annotations

from booking.errors import Conflict
from booking.i18n import lazy


class NotMarriedHere(Conflict):
    code = "not-married-to-each-other"
    title = lazy("As far as the office can tell, these two people are not married to each other.")


class NotTheOtherParty(Conflict):
    code = "confirm-with-own-account"
    title = lazy("The other party confirms with their own account, not the one that booked.")


class CaseClosed(Conflict):
    code = "case-not-open"
    title = lazy("This divorce case has ended.")


class NotInCoolingOff(Conflict):
    code = "cooling-off-over"
    title = lazy("The cooling-off period is over: the application can no longer be withdrawn. Without a "
                 "certificate visit by both parties within the window, it counts as withdrawn.")


class OutsideWindow(Conflict):
    code = "outside-window"
    title = lazy("The certificate visit must fall within the 30 days after the cooling-off period.")


class VisitAlreadyBooked(Conflict):
    code = "visit-already-booked"
    title = lazy("A visit of this case is already booked: confirm or cancel it first.")


class NothingToConfirm(Conflict):
    code = "nothing-to-confirm"
    title = lazy("No visit of this case is waiting for your confirmation.")


class PartyInOpenCase(Conflict):
    code = "party-in-open-case"
    title = lazy("A party already takes part in an open divorce case.")


class CertificateNotChecked(Conflict):
    code = "certificate-unchecked"
    title = lazy("The office holds no record of this marriage: check the marriage certificate at the counter "
                 "and record the check with the receipt.")


class NotTheVisitDay(Conflict):
    code = "not-the-visit-day"
    title = lazy("This is done at the counter on the day of the visit.")
