"""What refuses an appointment request or change: stable codes, titles in the caller's language."""

from __future__ import annotations

from booking.errors import Conflict
from booking.i18n import lazy
from booking.idempotency import IdempotencyKeyReused  # noqa: F401  (one definition, re-used here)


class SlotFullProblem(Conflict):
    code = "slot-full"
    title = lazy("This slot is fully booked.")


class SlotNotBookable(Conflict):
    code = "slot-not-bookable"
    title = lazy("This slot cannot be booked now.")


class PartyAlreadyBooked(Conflict):
    code = "party-already-booked"
    title = lazy("A party already holds an active booking for this service.")


class PartyUnavailable(Conflict):
    """The other party (not the account holder) cannot be booked now. Whether for a booking
    elsewhere or a no-show ban, and where or until when, is not said: it is that person's,
    not the account holder's, to know."""

    code = "party-unavailable"
    title = lazy("The other party cannot be booked for this service now.")


class HolderMismatch(Conflict):
    code = "not-the-account-holder"
    title = lazy("This account books for its holder only: name them as one of the parties.")


class AccountAlreadyBooked(Conflict):
    code = "account-already-booked"
    title = lazy("This account already holds an active booking for this service.")


class NoShowBan(Conflict):
    code = "no-show-ban"
    title = lazy("Booking is suspended after missed appointments.")


class NotInJurisdiction(Conflict):
    code = "not-in-jurisdiction"
    title = lazy("This office cannot register this couple on that date.")


PERMIT_REQUIRED = lazy("On that date a couple with neither hukou in this province needs a party's residence "
                       "permit issued in the office's area.")


class CancelDeadlinePassed(Conflict):
    code = "cancel-deadline-passed"
    title = lazy("The deadline for changing this appointment has passed.")


class InvalidTransition(Conflict):
    code = "invalid-status"
    title = lazy("The appointment is not in a state that allows this.")
