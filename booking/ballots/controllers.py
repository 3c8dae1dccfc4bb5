"""Ballots over HTTP: clerks set them up and draw, anyone reads and checks them, couples
enter, read their entries and withdraw."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from booking.accounts.guards import requires_account, requires_couple, requires_staff
from booking.accounts.principal import Principal
from booking.ballots import draw, entries, services
from booking.ballots.schemas import BallotCreate, BallotList, BallotOut, EntryCreate, EntryList, EntryOut
from booking.context import Context
from booking.http.problems import request_locale
from booking.observability.outcomes import booking_answer
from booking.schemas import IdempotencyKey, Offset, PathId, check_date

Limit = Annotated[int, QueryParameter(ge=1, le=200)]
EntryState = Literal["entered", "won", "waitlisted", "withdrawn", "lapsed"]


class BallotController(Controller):
    path = "/api/v1"
    tags = ["ballots"]

    @post("/offices/{office_id:int}/ballots", guards=[requires_staff], status_code=201,
          summary="Set up a ballot for a peak day (clerks of the office)",
          description="The seed is drawn now and its SHA-256 published as `seed_commitment`; the entry window "
          "must open later and the draw come before the day's normal release.")
    async def create(
        self, office_id: PathId, data: JSONBody[BallotCreate], ctx: NamedDependency[Context],
    ) -> Response[BallotOut]:
        return Response(await services.create_ballot(ctx, office_id, data),
                        status_code=201)

    @get("/offices/{office_id:int}/ballots", exclude_from_auth=True, summary="An office's ballots (public)",
         description="From today on by default; `from`/`to` (YYYY-MM-DD) select by the ballot's date.")
    async def list_for_office(
        self, office_id: PathId, ctx: NamedDependency[Context],
        start: Annotated[date | None, QueryParameter(name="from")] = None,
        end: Annotated[date | None, QueryParameter(name="to")] = None,
    ) -> Response[BallotList]:
        rows = await services.list_ballots(ctx, office_id, check_date("from", start),
                                           check_date("to", end))
        return Response(BallotList(data=rows))

    @get("/ballots/{ballot_id:uuid}", exclude_from_auth=True, summary="One ballot (public), with its check",
         description="State, capacity, entry count and `seed_commitment`; after the draw also `seed`, "
         "`entry_ids` (sorted), `winners` (in draw order), `seats` and `entry_times`, and in `verification` "
         "the recipe to recompute the winners from them.")
    async def get_one(
        self, ballot_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
    ) -> Response[BallotOut]:
        return Response(await services.get_ballot(ctx, ballot_id))

    @post("/ballots/{ballot_id:uuid}/entries", guards=[requires_couple], status_code=201,
          summary="Enter the ballot (couples, during its window)",
          description="Both parties, under the rules of a booking on the ballot's date; optionally the start "
          "times the couple can take. 409 when a party already holds an active entry or booking for the "
          "service. A retry with the same Idempotency-Key and body returns the first answer.")
    async def enter(
        self, request: Request[Principal, Any, Any], ballot_id: FromPath[uuid.UUID], data: JSONBody[EntryCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[EntryOut]:
        status, body = await entries.enter(request.app.state.runtime, request.user, ballot_id, data,
                                           key=idempotency_key, locale=request_locale(request))
        return booking_answer(request, status, body, status_field="state")

    @get("/ballots/{ballot_id:uuid}/entries", guards=[requires_staff],
         summary="A ballot's entries (clerks of the office), in draw order once drawn")
    async def entries_of(
        self, ballot_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
        entry_state: Annotated[EntryState | None, QueryParameter(name="state")] = None,
        limit: Limit = 50, offset: Offset = 0,
    ) -> Response[EntryList]:
        rows, total = await entries.list_for_office(ctx, ballot_id, entry_state,
                                                    limit=limit, offset=offset)
        return Response(EntryList(data=rows, total=total, limit=limit, offset=offset))

    @post("/ballots/{ballot_id:uuid}/draw", guards=[requires_staff], status_code=200,
          summary="Run the draw now (clerks of the office), if its moment has passed and it has not run")
    async def draw(
        self, ballot_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
    ) -> Response[BallotOut]:
        await draw.draw_by_hand(ctx, ballot_id)
        return Response(await services.get_ballot(ctx, ballot_id))


class BallotEntryController(Controller):
    path = "/api/v1/ballot-entries"
    tags = ["ballots"]

    @get("/", guards=[requires_couple], summary="The calling couple's ballot entries")
    async def list_mine(
        self, ctx: NamedDependency[Context],
        limit: Limit = 20, offset: Offset = 0,
    ) -> Response[EntryList]:
        rows, total = await entries.list_own(ctx, limit=limit, offset=offset)
        return Response(EntryList(data=rows, total=total, limit=limit, offset=offset))

    @get("/{entry_id:uuid}", guards=[requires_account], summary="One entry (its couple or its office's clerks)",
         description="`entered`; after the draw `won` with `appointment_id`, or `waitlisted` with its "
         "`position`; `withdrawn`; `lapsed` when the day's booking closed while it waited.")
    async def get_one(
        self, entry_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
    ) -> Response[EntryOut]:
        entry = await entries.visible_entry(ctx.session, ctx.caller, entry_id)
        return Response(await entries.out_of(ctx.session, entry))

    @post("/{entry_id:uuid}/withdraw", guards=[requires_couple], status_code=200,
          summary="Withdraw the entry (the couple)",
          description="Before the draw, or from the waitlist after it; a winner's withdrawal cancels the "
          "appointment it won, whose seat goes to the first entry waiting for it.")
    async def withdraw(
        self, entry_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
    ) -> Response[EntryOut]:
        return Response(await entries.withdraw(ctx, entry_id))
