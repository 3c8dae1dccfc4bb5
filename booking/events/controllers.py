"""Events and sign-ups over HTTP: public listing and feed, couples' sign-ups, the organiser's desk."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from booking.accounts.guards import in_order, requires_account, requires_couple, requires_staff
from booking.accounts.principal import Principal
from booking.context import Context
from booking.events import desk, services, signups
from booking.events.schemas import (
    MAX_ID,
    AttendanceIn,
    EventCancelIn,
    EventCreate,
    EventKind,
    EventList,
    EventOut,
    EventUpdate,
    PledgeList,
    SignupCancelIn,
    SignupCreate,
    SignupDecisionIn,
    SignupList,
    SignupOut,
    SignupRevealOut,
    SignupStatus,
    query_day,
)
from booking.http.problems import request_locale
from booking.observability.outcomes import booking_answer
from booking.schemas import CheckInIn, IdempotencyKey, Offset, PathId
from booking.security.ratelimit import rate_limited

Limit = Annotated[int, QueryParameter(ge=1, le=200)]


class EventController(Controller):
    path = "/api/v1/events"
    tags = ["events"]

    @get("/", exclude_from_auth=True, summary="List events (public), with the places remaining",
         description="By default the published events not yet over; `from`/`to` (YYYY-MM-DD) select by the "
         "date each event starts on in its own timezone.")
    async def list_events(
        self, ctx: NamedDependency[Context],
        office_id: Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)] = None,
        kind: Annotated[EventKind | None, QueryParameter()] = None,
        start: Annotated[date | None, QueryParameter(name="from", description="YYYY-MM-DD (1900-2199)")] = None,
        end: Annotated[date | None, QueryParameter(name="to", description="YYYY-MM-DD (1900-2199)")] = None,
        include_cancelled: Annotated[bool, QueryParameter()] = False,
        limit: Limit = 50, offset: Offset = 0,
    ) -> EventList:
        rows, total = await services.list_events(
            ctx, office_id=office_id, kind=kind, start=query_day("from", start),
            end=query_day("to", end), include_cancelled=include_cancelled, limit=limit, offset=offset)
        return EventList(data=rows, total=total, limit=limit, offset=offset)

    @get("/{event_id:uuid}", exclude_from_auth=True, summary="One event (public), with the places remaining")
    async def get_event(
        self, event_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
    ) -> EventOut:
        return await services.get_event(ctx, event_id)

    @post("/", guards=[requires_staff], status_code=201,
          summary="Create an event (clerks of the office, admins)",
          description="A retry with the same Idempotency-Key and body returns the first answer and creates "
          "nothing; the key with another body is a 409 `idempotency-key-reused`.")
    async def create_event(
        self, data: JSONBody[EventCreate], ctx: NamedDependency[Context],
        idempotency_key: IdempotencyKey = None,
    ) -> EventOut:
        return await services.create_event(ctx, data, key=idempotency_key)

    @patch("/{event_id:uuid}", guards=[requires_staff], summary="Edit an event (clerks of the office, admins)",
           description="A raised capacity or guest seats promotes waitlisted couples at once; a limit below what "
           "is taken is refused (409). Changes couples see re-send their invites.")
    async def update_event(
        self, event_id: FromPath[uuid.UUID], data: JSONBody[EventUpdate], ctx: NamedDependency[Context],
    ) -> EventOut:
        return await services.update_event(ctx, event_id, data)

    @post("/{event_id:uuid}/cancel", guards=[requires_staff], status_code=200,
          summary="Cancel an event; every couple signed up is told")
    async def cancel_event(
        self, event_id: FromPath[uuid.UUID], data: JSONBody[EventCancelIn], ctx: NamedDependency[Context],
    ) -> EventOut:
        return await services.cancel_event(ctx, event_id, data.reason)

    @post("/{event_id:uuid}/signups", guards=[in_order(requires_couple, rate_limited("signup"))], status_code=201,
          summary="Sign up for an event",
          description="Both parties (validated as for appointments), the marriage date where the event's "
          "eligibility needs it, guests, contact. 201 with status `confirmed`, `pending_approval` or "
          "`waitlisted` (with `waitlist_position`). 422 `not-eligible` names the rule (`rule`); 409 when "
          "sign-ups are not open, a party is already signed up, or the Idempotency-Key was used for another body.")
    async def sign_up(
        self, request: Request[Principal, Any, Any], event_id: FromPath[uuid.UUID], data: JSONBody[SignupCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[SignupOut]:
        status, body = await signups.sign_up(request.app.state.runtime, request.user, event_id, data,
                                             key=idempotency_key, locale=request_locale(request))
        return booking_answer(request, status, body)

    @get("/{event_id:uuid}/signups", guards=[requires_staff], summary="The event's sign-ups and counts (organisers)")
    async def list_signups(
        self, event_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
        status: Annotated[SignupStatus | None, QueryParameter()] = None, limit: Limit = 100, offset: Offset = 0,
    ) -> SignupList:
        rows, total, counts = await desk.list_signups(ctx, event_id, status=status,
                                                      limit=limit, offset=offset)
        return SignupList(data=rows, total=total, limit=limit, offset=offset,
                          counts=counts)

    @get("/{event_id:uuid}/signups.csv", guards=[requires_staff], opt={"media_types": ["text/csv"]}, summary="Export the sign-ups as CSV (organisers)",
         description="ID numbers and phones masked unless `reveal=true`; every export is audited.")
    async def export(
        self, event_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
        reveal: Annotated[bool, QueryParameter()] = False,
    ) -> Response[bytes]:
        body, filename = await desk.export_csv(ctx, event_id, reveal=reveal)
        return Response(body, media_type="text/csv",  # Litestar adds "; charset=utf-8"
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    @get("/{event_id:uuid}/pledges", guards=[requires_staff], summary="Charity pledges and sponsors, with totals")
    async def pledges(
        self, event_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
    ) -> PledgeList:
        return await desk.pledges(ctx, event_id)

    @post("/{event_id:uuid}/check-in", guards=[requires_staff], status_code=200,
          summary="Check a couple in at the venue by their code (organisers, on the day)")
    async def check_in(
        self, event_id: FromPath[uuid.UUID], data: JSONBody[CheckInIn], ctx: NamedDependency[Context],
    ) -> Response[SignupOut]:
        return Response(await desk.check_in(ctx, event_id, data.code))


class SignupController(Controller):
    path = "/api/v1/signups"
    tags = ["events"]

    @get("/", guards=[requires_couple], summary="The calling couple's sign-ups")
    async def list_mine(
        self, ctx: NamedDependency[Context],
        limit: Limit = 20, offset: Offset = 0,
    ) -> SignupList:
        rows, total = await signups.list_own(ctx, limit=limit, offset=offset)
        return SignupList(data=rows, total=total, limit=limit, offset=offset)

    @get("/{signup_id:uuid}", guards=[requires_account], summary="One sign-up (its couple or the organisers)")
    async def get_one(
        self, signup_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
    ) -> Response[SignupOut]:
        return Response(await signups.get_signup(ctx, signup_id))

    @post("/{signup_id:uuid}/cancel", guards=[requires_account], status_code=200,
          summary="Cancel before the event (the couple or the organisers); the place goes to the waitlist")
    async def cancel(
        self, signup_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
        data: JSONBody[SignupCancelIn | None] = None,
    ) -> Response[SignupOut]:
        return Response(await signups.cancel(ctx, signup_id, data.reason if data else None))

    @post("/{signup_id:uuid}/decision", guards=[requires_staff], status_code=200,
          summary="Approve, or reject with a reason (organisers)")
    async def decide(
        self, signup_id: FromPath[uuid.UUID], data: JSONBody[SignupDecisionIn], ctx: NamedDependency[Context],
    ) -> Response[SignupOut]:
        return Response(await desk.decide(ctx, signup_id, data))

    @post("/{signup_id:uuid}/attendance", guards=[requires_staff], status_code=200,
          summary="Mark a couple attended or absent (organisers, once the event has started)")
    async def attendance(
        self, signup_id: FromPath[uuid.UUID], data: JSONBody[AttendanceIn], ctx: NamedDependency[Context],
    ) -> Response[SignupOut]:
        return Response(await desk.mark_attendance(ctx, signup_id, data.attended))

    @post("/{signup_id:uuid}/reveal", guards=[requires_staff], status_code=200,
          summary="Full ID numbers and phones of a sign-up (organisers; audited)")
    async def reveal(
        self, signup_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
    ) -> SignupRevealOut:
        return await desk.reveal(ctx, signup_id)

    @get("/{signup_id:uuid}/invite.ics", guards=[requires_account],
         opt={"media_types": ["text/calendar"], "problems": [409]}, summary="Calendar invite (iCalendar)",
         description="The couple's own copy names them as attendee: METHOD:REQUEST while they hold a place "
         "(STATUS:TENTATIVE until approved), CANCEL once cancelled, rejected or the event is cancelled. The "
         "organisers' copy is METHOD:PUBLISH without attendees (STATUS:CANCELLED once over). One UID per "
         "sign-up, SEQUENCE raised on every change. 409 while on the waitlist.")
    async def invite(
        self, signup_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
    ) -> Response[bytes]:
        body, method, filename = await signups.invite_file(ctx, signup_id)
        return Response(body, media_type=f"text/calendar; method={method}",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


class EventFeedController(Controller):
    path = "/api/v1/calendars/offices/{office_id:int}"
    tags = ["events"]

    @get("/events.ics", exclude_from_auth=True, opt={"media_types": ["text/calendar"]}, summary="The office's events as a public calendar feed",
         description="METHOD:PUBLISH, one VEVENT per event (cancelled ones as STATUS:CANCELLED), no personal data.")
    async def feed(
        self, office_id: PathId, ctx: NamedDependency[Context],
    ) -> Response[bytes]:
        body = await services.office_feed(ctx, office_id)
        return Response(body, media_type="text/calendar; method=PUBLISH",
                        headers={"Content-Disposition": f'inline; filename="office-{office_id}-events.ics"'})
