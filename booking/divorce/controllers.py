"""Divorce cases: the parties apply, confirm, withdraw and book the certificate visit with
their own accounts; clerks of the office record receipt, withdrawals at the counter and
the registration."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from booking.accounts.guards import in_order, requires_account, requires_couple, requires_staff
from booking.context import Context
from booking.divorce.schemas import (
    CaseCreate,
    CaseList,
    CaseOut,
    CaseRevealOut,
    ConfirmApplicationIn,
    ReceiptIn,
    VisitIn,
    WithdrawIn,
)
from booking.divorce.services import apply, counter, ending, reads, window
from booking.schemas import IdempotencyKey, Offset, PathId
from booking.security.ratelimit import rate_limited

CASE = "/{case_id:uuid}"


class DivorceCaseController(Controller):
    path = "/api/v1/divorce-cases"
    tags = ["divorce"]

    @post("/", guards=[in_order(requires_couple, rate_limited("booking"))], status_code=201,
          summary="Apply: book the application visit",
          description="By one party's account, naming the other spouse (name and ID number only: their contact is "
          "theirs to give). The visit holds its seat as `awaiting_party` until the other party confirms with their "
          "own account (`POST /api/v1/divorce-cases/confirm`, with the visit's code).")
    async def apply(self, data: JSONBody[CaseCreate], ctx: NamedDependency[Context],
                    idempotency_key: IdempotencyKey = None) -> Response[CaseOut]:
        status, body = await apply.apply_for_divorce(ctx, data, idempotency_key)
        return Response(body, status_code=status)

    @post("/confirm", guards=[in_order(requires_couple, rate_limited("booking"))], status_code=200,
          summary="The other party confirms the application visit with their own account")
    async def confirm(self, data: JSONBody[ConfirmApplicationIn],
                      ctx: NamedDependency[Context]) -> Response[CaseOut]:
        return Response(await apply.confirm_application(ctx, data))

    @get("/", guards=[requires_couple], summary="The calling party's cases")
    async def list_mine(self, ctx: NamedDependency[Context]) -> CaseList:
        cases = await reads.list_own(ctx)
        return CaseList(data=cases, total=len(cases))

    @get(CASE, guards=[requires_account], summary="One case (its parties, each seeing their own; its office)")
    async def get_one(self, case_id: FromPath[uuid.UUID], ctx: NamedDependency[Context]) -> Response[CaseOut]:
        return Response(await reads.get_case(ctx, case_id))

    @post(CASE + "/withdraw", guards=[requires_account], status_code=200,
          summary="Withdraw the application (a party online, or a clerk at the counter naming the party)",
          description="Until the last day of the cooling-off. The other party is told that the case ended.")
    async def withdraw(self, case_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
                       data: JSONBody[WithdrawIn | None] = None) -> Response[CaseOut]:
        return Response(await ending.withdraw(ctx, case_id, data.party if data else None))

    @post(CASE + "/certificate-visit", guards=[requires_couple], status_code=201,
          summary="Book the certificate visit inside the window (the other party confirms it)")
    async def book_visit(self, case_id: FromPath[uuid.UUID], data: JSONBody[VisitIn],
                         ctx: NamedDependency[Context]) -> Response[CaseOut]:
        return Response(await window.book_certificate_visit(ctx, case_id, data.slot_id), status_code=201)

    @post(CASE + "/certificate-visit/confirm", guards=[requires_couple], status_code=200,
          summary="The other party confirms the certificate visit")
    async def confirm_visit(self, case_id: FromPath[uuid.UUID],
                            ctx: NamedDependency[Context]) -> Response[CaseOut]:
        return Response(await window.confirm_certificate_visit(ctx, case_id))

    @post(CASE + "/certificate-visit/cancel", guards=[requires_couple], status_code=200,
          summary="Cancel the certificate visit (either party, before the office's deadline)")
    async def cancel_visit(self, case_id: FromPath[uuid.UUID],
                           ctx: NamedDependency[Context]) -> Response[CaseOut]:
        return Response(await window.cancel_certificate_visit(ctx, case_id))

    @post(CASE + "/receipt", guards=[requires_staff], status_code=200,
          summary="Record receipt (受理) at the application visit: starts the cooling-off (clerks)")
    async def receipt(self, case_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
                      data: JSONBody[ReceiptIn | None] = None) -> Response[CaseOut]:
        checked = data.marriage_certificate_checked if data else False
        return Response(await counter.record_receipt(ctx, case_id, checked))

    @post(CASE + "/registration", guards=[requires_staff], status_code=200,
          summary="Register the divorce at the certificate visit, inside the window (clerks)")
    async def register(self, case_id: FromPath[uuid.UUID],
                       ctx: NamedDependency[Context]) -> Response[CaseOut]:
        return Response(await counter.register_divorce(ctx, case_id))

    @post(CASE + "/reveal", guards=[requires_staff], status_code=200,
          summary="Full ID numbers and phones of the parties (clerks; audited)")
    async def reveal(self, case_id: FromPath[uuid.UUID], ctx: NamedDependency[Context]) -> CaseRevealOut:
        return CaseRevealOut(case_id=case_id, parties=await counter.reveal(ctx, case_id))


class OfficeDivorceController(Controller):
    path = "/api/v1/offices/{office_id:int}/divorce-cases"
    tags = ["divorce"]
    guards = [requires_staff]

    @get("/", summary="The office's divorce cases (clerks of the office)")
    async def list_office(self, office_id: PathId, ctx: NamedDependency[Context],
                          status: Annotated[str | None, QueryParameter(
                              pattern=r"^(applying|received|registered|withdrawn|deemed_withdrawn|lapsed)$")] = None,
                          limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
                          offset: Offset = 0) -> CaseList:
        cases, total = await reads.list_office(ctx, office_id, status=status, limit=limit,
                                               offset=offset)
        return CaseList(data=cases, total=total)
