"""Appointments: couples book, read, cancel and reschedule; clerks run the desk."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from booking.accounts.guards import in_order, requires_account, requires_couple, requires_staff
from booking.accounts.principal import Principal
from booking.accounts.tokens import ACCOUNT_CHECK_IN_HANDLER, check_account
from booking.appointments.problems import SlotFullProblem
from booking.appointments.schemas import (
    AppointmentCreate,
    AppointmentList,
    AppointmentOut,
    AppointmentRevealOut,
    CancelIn,
    RescheduleIn,
    Roster,
    TurnAwayIn,
)
from booking.appointments.services.book import book
from booking.appointments.services.changes import cancel, reschedule
from booking.appointments.services.desk import (
    check_in,
    complete,
    find_by_code,
    mark_no_show,
    reveal,
    roster,
    turn_away,
)
from booking.appointments.services.reads import get_appointment, invite_file, list_own, visible
from booking.context import Context
from booking.http.problems import problem_response, request_locale
from booking.kernel.codes import qr_svg
from booking.observability.outcomes import booking_answer
from booking.schemas import CheckInIn, IdempotencyKey, Offset, PathId
from booking.security.ratelimit import rate_limited


class AppointmentController(Controller):
    path = "/api/v1/appointments"
    tags = ["appointments"]

    @post("/", guards=[in_order(requires_couple, rate_limited("booking"))], status_code=201, summary="Book an appointment",
          opt={ACCOUNT_CHECK_IN_HANDLER: True},
          description="Both parties; the slot's office rules apply. 201 with status `confirmed`, or "
          "`pending_review` when a clerk must pre-review first. 409 when the slot is full, a party "
          "already holds an active booking, or the Idempotency-Key was used for another body.")
    async def book(
        self,
        request: Request[Principal, Any, Any],
        data: JSONBody[AppointmentCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[AppointmentOut]:
        # The hottest write takes no injected dependencies: Litestar resolves several at
        # once through an anyio task group, which measured ~8% of this request's CPU.
        runtime = request.app.state.runtime
        if idempotency_key is None and runtime.sold_out.is_full(data.slot_id):
            # The rush's refusal (95% of its requests), before the account is read: the
            # token's signature, expiry and audience are verified, but whether the account
            # still allows the token is not. A deactivated or logged-out account is told
            # "slot full" here rather than 401: it learns only what the public availability
            # shows anyone, gets nothing written and nothing of its own back. With an
            # Idempotency-Key, the retry of an earlier success must get that booking, which
            # only the account's owner may see: checked first (``book`` replays it).
            # Returned, not raised: the same answer without Litestar's exception path.
            return problem_response(request, SlotFullProblem())
        # An unkeyed booking's account, not cached here, is checked by the write itself (one
        # round trip); what ``book`` may answer before it (422 for the body, or a slot it
        # knows no seat in) tells nothing of the account and writes nothing.
        unchecked = await check_account(
            request, write_checks=idempotency_key is None and runtime.booking_store.checks_accounts)
        status, body = await book(runtime, request.user, data, key=idempotency_key,
                                  locale=request_locale(request), account_check=unchecked)
        return booking_answer(request, status, body)

    @get("/", guards=[requires_couple], summary="The calling couple's appointments")
    async def list_mine(
        self,
        ctx: NamedDependency[Context],
        status: Annotated[str | None, QueryParameter(
            pattern=r"^(pending_review|awaiting_party|confirmed|checked_in|completed|turned_away|no_show|cancelled)$")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        offset: Offset = 0,
    ) -> AppointmentList:
        rows, total = await list_own(ctx, status=status, limit=limit,
                                              offset=offset)
        return AppointmentList(data=rows, total=total, limit=limit,
                               offset=offset)

    @get("/{appointment_id:uuid}", guards=[requires_account], summary="One appointment (its couple or office)")
    async def get_one(
        self, appointment_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
    ) -> Response[AppointmentOut]:
        return Response(await get_appointment(ctx, appointment_id))

    @post("/{appointment_id:uuid}/cancel", guards=[requires_account], status_code=200,
          summary="Cancel (couples before the office's deadline; clerks of the office)")
    async def cancel(
        self, appointment_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
        data: JSONBody[CancelIn | None] = None,
    ) -> Response[AppointmentOut]:
        return Response(await cancel(ctx, appointment_id, data.reason if data else None))

    @post("/{appointment_id:uuid}/reschedule", guards=[requires_account], status_code=200,
          summary="Move to another slot of the same office and service, atomically")
    async def reschedule(
        self, appointment_id: FromPath[uuid.UUID], data: JSONBody[RescheduleIn],
        ctx: NamedDependency[Context],
    ) -> Response[AppointmentOut]:
        return Response(await reschedule(ctx, appointment_id, data.slot_id))

    @get("/{appointment_id:uuid}/invite.ics", guards=[requires_account], opt={"media_types": ["text/calendar"]}, summary="Calendar invite (iCalendar)",
         description="METHOD:REQUEST while the appointment stands, CANCEL once cancelled; same UID, "
         "SEQUENCE raised on every change. Text in the caller's language.")
    async def invite(
        self, appointment_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
    ) -> Response[bytes]:
        body, method, filename = await invite_file(ctx, appointment_id)
        return Response(body, media_type=f"text/calendar; method={method}",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    @get("/{appointment_id:uuid}/qr.svg", guards=[requires_account], opt={"media_types": ["image/svg+xml"]}, summary="QR code of the booking code")
    async def qr(
        self, appointment_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
    ) -> Response[bytes]:
        appt = await visible(ctx.session, ctx.caller, appointment_id)
        return Response(qr_svg(appt.code), media_type="image/svg+xml")

    @post("/{appointment_id:uuid}/check-in", guards=[requires_staff], status_code=200,
          summary="Check the couple in (clerks, on the day)")
    async def check_in(
        self, appointment_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
    ) -> Response[AppointmentOut]:
        return Response(await check_in(ctx, appointment_id))

    @post("/{appointment_id:uuid}/complete", guards=[requires_staff], status_code=200,
          summary="Registration done (clerks)")
    async def complete(
        self, appointment_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
    ) -> Response[AppointmentOut]:
        return Response(await complete(ctx, appointment_id))

    @post("/{appointment_id:uuid}/turn-away", guards=[requires_staff], status_code=200,
          summary="The couple came but cannot be served, with the reason (clerks, on the day)",
          description="Frees the seat and the parties (they may book again at once); counts neither as a "
          "no-show nor as a registration. From `confirmed` or `checked_in`.")
    async def turn_away(
        self, appointment_id: FromPath[uuid.UUID], data: JSONBody[TurnAwayIn],
        ctx: NamedDependency[Context],
    ) -> Response[AppointmentOut]:
        return Response(await turn_away(ctx, appointment_id, data.reason))

    @post("/{appointment_id:uuid}/no-show", guards=[requires_staff], status_code=200,
          summary="The couple did not come (clerks)")
    async def no_show(
        self, appointment_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
    ) -> Response[AppointmentOut]:
        return Response(await mark_no_show(ctx, appointment_id))

    @post("/{appointment_id:uuid}/reveal", guards=[requires_staff], status_code=200,
          summary="Full ID numbers and phones of the parties (clerks; audited)")
    async def reveal(
        self, appointment_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
    ) -> AppointmentRevealOut:
        parties = await reveal(ctx, appointment_id)
        return AppointmentRevealOut(appointment_id=appointment_id, parties=parties)


class DeskController(Controller):
    path = "/api/v1/offices/{office_id:int}"
    tags = ["clerk desk"]
    guards = [requires_staff]

    @get("/roster", summary="The day's appointments at the office (clerks)")
    async def roster(
        self, office_id: PathId, day: Annotated[date, QueryParameter(name="date")],
        ctx: NamedDependency[Context],
    ) -> Roster:
        entries, counts = await roster(ctx, office_id, day)
        return Roster(office_id=office_id, date=day, data=entries, counts=counts)

    @post("/check-in", status_code=200, summary="Check a couple in by booking code (clerks)")
    async def check_in_by_code(
        self, office_id: PathId, data: JSONBody[CheckInIn], ctx: NamedDependency[Context],
    ) -> Response[AppointmentOut]:
        appointment_id = await find_by_code(ctx, office_id, data.code)
        return Response(await check_in(ctx, appointment_id))

    @post("/appointments", status_code=201, summary="Book for a walk-in couple (clerks; same rules)")
    async def book_walk_in(
        self, request: Request[Principal, Any, Any], office_id: PathId, data: JSONBody[AppointmentCreate],
        ctx: NamedDependency[Context],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[AppointmentOut]:
        ctx.caller.require_office(office_id)
        status, body = await book(ctx.rt, ctx.caller, data, key=idempotency_key, locale=ctx.locale,
                                           counter_office=office_id)
        return booking_answer(request, status, body)
