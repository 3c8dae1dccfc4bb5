"""What became of a booking, sign-up or ballot entry request, in a small fixed vocabulary.

The outcome is known without extra work: a success from the answer's ``status`` (which the
handler notes when it answers, ``booking_answer``), a refusal from its problem code (which
``http.problems.problem_response`` notes in the request's scope). The HTTP middleware counts it
once the answer has gone out. The benchmarks classify their answers with the same
``classify``, so their counts and ``/metrics`` can be compared after a rush.
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response
from litestar.serialization import encode_json

from booking.http.problems import PROBLEM_CODE_STATE
from booking.observability.tracing import span

ANSWER_STATUS_STATE = "booking.answer_status"
RATE_LIMIT_STATE = "booking.rate_limit"

# (method, route template) -> kind
OUTCOME_ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/appointments"): "appointment",
    ("POST", "/api/v1/offices/{office_id}/appointments"): "appointment",  # a clerk books a walk-in
    ("POST", "/api/v1/cross-province-applications"): "appointment",  # holds a seat during the review
    ("POST", "/api/v1/events/{event_id}/signups"): "signup",
    ("POST", "/api/v1/ballots/{ballot_id}/entries"): "ballot_entry",
    # the same through the couples' pages (booking.web.pages.note_outcome notes their answers)
    ("POST", "/offices/{office_id}/book"): "appointment",
    ("POST", "/cross-province/applications"): "appointment",
    ("POST", "/events/{event_id}/signups"): "signup",
    ("POST", "/offices/{office_id}/ballots/{ballot_id}/entries"): "ballot_entry",
}

OUTCOMES = (
    "booked", "pending_review", "waitlisted", "entered",
    "slot_full", "banned", "party_already_booked", "invalid", "not_in_jurisdiction", "not_eligible",
    "not_bookable", "rate_limited", "error", "other",
)

# the answer's status on success
_ANSWERED = {
    "confirmed": "booked",
    "pending_review": "pending_review",  # an appointment held for a clerk's pre-review
    "submitted": "pending_review",  # the cross-province application that holds it
    "pending_approval": "pending_review",  # a charity wedding's sign-up awaiting the organiser
    "waitlisted": "waitlisted",
    "entered": "entered",  # a ballot entry, waiting for its draw
}

# the problem code on refusal
_REFUSED = {
    "slot-full": "slot_full",
    "no-show-ban": "banned",
    "party-already-booked": "party_already_booked",
    "already-signed-up": "party_already_booked",
    "invalid-input": "invalid",
    "malformed-body": "invalid",
    "not-in-jurisdiction": "not_in_jurisdiction",
    "not-eligible": "not_eligible",
    # pressed before the release moment, after the cut-off, or on a closed slot or event
    "slot-not-bookable": "not_bookable",
    "signups-not-open": "not_bookable",
    "signups-closed": "not_bookable",
    "event-started": "not_bookable",
    "event-cancelled": "not_bookable",
    # ballot entries
    "party-already-entered": "party_already_booked",
    "ballot-already-entered": "party_already_booked",
    "ballot-entries-not-open": "not_bookable",
    "ballot-entries-closed": "not_bookable",
    "ballot-prereview-required": "not_eligible",
}


def classify(status: int, answer_status: str | None = None, problem_code: str | None = None) -> str:
    """The outcome of one answer: its HTTP status, the ``status`` field of a successful
    answer's body, the ``code`` of a problem answer."""
    if status < 400:
        return _ANSWERED.get(answer_status or "", "other")
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "error"  # broken, not refused: what an operator must tell apart on the day
    found = _REFUSED.get(problem_code or "")
    if found is not None:
        return found
    return "invalid" if status in (400, 413, 415, 422) else "other"


def outcome_of(status: int, state: dict[str, Any]) -> str:
    return classify(status, state.get(ANSWER_STATUS_STATE), state.get(PROBLEM_CODE_STATE))


def booking_answer(request: Request[Any, Any, Any], status_code: int, body: Any,
                   status_field: str = "status") -> Response[Any]:
    """The answer of a booking, sign-up or ballot entry handler (an ``Answer``, or a replayed
    one's JSON): notes its status (a ballot entry's is its ``state``) for the outcome count
    and encodes the body itself, so the encode is a span of its own when tracing is on."""
    request.scope["state"][ANSWER_STATUS_STATE] = (
        body.get(status_field) if isinstance(body, dict) else getattr(body, status_field, None))
    with span("booking.encode"):
        content = encode_json(body)
    return Response(content, status_code=status_code, media_type=MediaType.JSON)


def name_rate_limit(request: Request[Any, Any, Any], limit: str) -> None:
    """Name the limit that refuses this request (before raising the 429): the refusal is
    then counted under that name (``booking_rate_limit_refusals_total{limit=...}``) instead
    of ``unnamed``. ``limit`` is a fixed name such as ``login``, never a key."""
    request.scope["state"][RATE_LIMIT_STATE] = limit
