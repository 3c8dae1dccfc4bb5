"""Cross-province applications (跨省通办): couples apply and upload; clerks review."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody, QueryParameter

from booking.accounts.guards import in_order, requires_account, requires_couple, requires_staff
from booking.accounts.principal import Principal
from booking.applications import services
from booking.applications.documents import EXTENSIONS
from booking.applications.schemas import (
    ApplicationCreate,
    ApplicationDecisionIn,
    ApplicationList,
    ApplicationOut,
    DocumentOut,
    DocumentUpload,
    ResubmitIn,
)
from booking.context import Context
from booking.http.problems import request_locale
from booking.observability.outcomes import booking_answer
from booking.schemas import IdempotencyKey, Offset, PathId, check_date
from booking.security.ratelimit import rate_limited

StatusFilter = Annotated[str | None, QueryParameter(
    pattern=r"^(submitted|needs_more_info|approved|rejected|withdrawn|expired)$")]
Limit = Annotated[int, QueryParameter(ge=1, le=100)]


class ApplicationController(Controller):
    path = "/api/v1/cross-province-applications"
    tags = ["cross-province applications"]

    @post("/", guards=[in_order(requires_couple, rate_limited("booking"))], status_code=201,
          summary="Apply, holding a seat during the review",
          description="The couple, the slot (its seat is held until the office decides or the hold ends) and "
          "the answers the policy in force asks for. 409 when the office cannot register the couple on that "
          "date, when they need no pre-review (book the appointment directly), or as for a booking.")
    async def submit(
        self, request: Request[Principal, Any, Any], data: JSONBody[ApplicationCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ApplicationOut]:
        status, body = await services.submit(request.app.state.runtime, request.user, data, key=idempotency_key,
                                             locale=request_locale(request))
        return booking_answer(request, status, body)

    @get("/", guards=[requires_couple], summary="The calling couple's applications")
    async def list_mine(
        self, ctx: NamedDependency[Context], status: StatusFilter = None,
        limit: Limit = 20, offset: Offset = 0,
    ) -> ApplicationList:
        rows, total = await services.list_own(ctx, status=status, limit=limit,
                                              offset=offset)
        return ApplicationList(data=rows, total=total, limit=limit,
                               offset=offset)

    @get("/{application_id:uuid}", guards=[requires_account], summary="One application (its couple or office)")
    async def get_one(
        self, application_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
    ) -> Response[ApplicationOut]:
        return Response(await services.get_application(ctx, application_id))

    @post("/{application_id:uuid}/documents", guards=[requires_account], status_code=201, opt={"upload": True},
          summary="Upload a scan (PDF, JPEG or PNG)",
          description="multipart/form-data with `file`, `kind` (id_card, household_register, residence_permit, "
          "no_spouse_declaration, identity_document, other) and `party` (1 or 2, for per-party kinds). The type "
          "is read from the content; image metadata (EXIF) is removed. The couple, or a clerk of the office. "
          "Retrying with the same Idempotency-Key and file returns the first answer and stores nothing more.")
    async def upload(
        self, application_id: FromPath[uuid.UUID],
        data: Annotated[DocumentUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        ctx: NamedDependency[Context], idempotency_key: IdempotencyKey = None,
    ) -> Response[DocumentOut]:
        try:
            status, body = await services.upload(ctx, application_id, data,
                                                 key=idempotency_key)
        finally:
            await data.file.close()
        return Response(body, status_code=status)

    @get("/{application_id:uuid}/documents/{document_id:uuid}", guards=[requires_account],
         opt={"media_types": ["application/pdf", "image/jpeg", "image/png"]},
         summary="Read a scan (its couple; clerks of the office, audited)")
    async def read_document(
        self, application_id: FromPath[uuid.UUID], document_id: FromPath[uuid.UUID],
        ctx: NamedDependency[Context],
    ) -> Response[bytes]:
        content, doc = await services.read_document(ctx, application_id, document_id)
        # A generated name: the client's file name never reaches a header.
        name = f"{doc.kind}-{doc.party or 'couple'}{EXTENSIONS[doc.media_type]}"
        return Response(content, media_type=doc.media_type, headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        })

    @post("/{application_id:uuid}/decision", guards=[requires_staff], status_code=200,
          summary="Decide: approve, reject or ask for more information (clerks of the office)",
          description="A reason is required unless approving; the couple sees it as written. Approval "
          "confirms the held appointment; rejection releases the seat.")
    async def decide(
        self, application_id: FromPath[uuid.UUID], data: JSONBody[ApplicationDecisionIn],
        ctx: NamedDependency[Context],
    ) -> Response[ApplicationOut]:
        return Response(await services.decide(ctx, application_id, data))

    @post("/{application_id:uuid}/resubmit", guards=[requires_couple], status_code=200,
          summary="Send the application back to the office after adding what it asked for")
    async def resubmit(
        self, application_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
        data: JSONBody[ResubmitIn | None] = None,
    ) -> Response[ApplicationOut]:
        return Response(await services.resubmit(ctx, application_id,
                                                data.note if data else None))

    @post("/{application_id:uuid}/withdraw", guards=[requires_couple], status_code=200,
          summary="Withdraw the application; the held seat is released")
    async def withdraw(
        self, application_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
    ) -> Response[ApplicationOut]:
        return Response(await services.withdraw(ctx, application_id))


class ApplicationQueueController(Controller):
    path = "/api/v1/offices/{office_id:int}/cross-province-applications"
    tags = ["cross-province applications"]
    guards = [requires_staff]

    @get("/", summary="The office's pre-review queue, oldest first (clerks)",
         description="Open applications (submitted and needs_more_info) unless `status` says otherwise; "
         "`from`/`to` filter by appointment date (1900-01-01 to 2199-12-31).")
    async def queue(
        self, office_id: PathId, ctx: NamedDependency[Context],
        status: StatusFilter = None,
        start: Annotated[date | None, QueryParameter(name="from")] = None,
        end: Annotated[date | None, QueryParameter(name="to")] = None,
        limit: Limit = 50, offset: Offset = 0,
    ) -> ApplicationList:
        rows, total = await services.queue(ctx, office_id, status=status,
                                           start=check_date("from", start), end=check_date("to", end),
                                           limit=limit, offset=offset)
        return ApplicationList(data=rows, total=total, limit=limit,
                               offset=offset)
