"""What refuses a ballot request: stable codes, titles in the caller's language."""

from __future__ import annotations

from booking.errors import Conflict
from booking.i18n import lazy


class BallotExists(Conflict):
    code = "ballot-exists"
    title = lazy("This office already has a ballot for this date and service.")


class NoSlotsForBallot(Conflict):
    code = "ballot-no-slots"
    title = lazy("The date has no open slots for this service: generate its slots first.")


class EntriesNotOpen(Conflict):
    code = "ballot-entries-not-open"
    title = lazy("Entries for this ballot are not open yet.")


class EntriesClosed(Conflict):
    code = "ballot-entries-closed"
    title = lazy("Entries for this ballot have closed.")


class AlreadyEntered(Conflict):
    code = "ballot-already-entered"
    title = lazy("This account has already entered this ballot.")


class PartyAlreadyEntered(Conflict):
    code = "party-already-entered"
    title = lazy("A party already holds an active ballot entry for this service.")


class PrereviewNotInBallot(Conflict):
    code = "ballot-prereview-required"
    title = lazy("This office pre-reviews this couple first, which a ballot cannot wait for.")


class DrawNotDue(Conflict):
    code = "ballot-draw-not-due"
    title = lazy("The draw's moment has not come yet.")


class AlreadyDrawn(Conflict):
    code = "ballot-already-drawn"
    title = lazy("This ballot has already been drawn.")


class CannotWithdraw(Conflict):
    code = "invalid-status"
    title = lazy("The entry is not in a state that allows this.")
