"""Divorce pages: a party's case (its dates and what to do next: confirm, withdraw, book or
confirm the certificate visit), the other party's confirmation with their own account, and
a clerk's desk (``/desk/divorce``: receipt, withdrawal at the counter, registration), in
the staff layout (``booking.web.staff``: the office of the desk, the staff navigation)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from booking.context import Context
from booking.divorce.schemas import ConfirmApplicationIn
from booking.divorce.services import apply, counter, ending, reads, window
from booking.errors import NotFound, Problem, invalid
from booking.i18n import lazy
from booking.kernel.catalog import DIVORCE
from booking.schemas import as_json
from booking.web import calendar
from booking.web.forms import FormState, parse, posted, refused, unflatten
from booking.web.pages import NOTICES, page, redirect
from booking.web.session import require_couple
from booking.web.staff import Desk, OfficeParam, desk_for, desk_page

NOTICES.update({
    "divorce-confirmed": lazy("Your confirmation is recorded."),
    "divorce-withdrawn": lazy("The application is withdrawn and the case closed."),
    "divorce-visit-booked": lazy("The certificate visit is booked; the other party confirms it."),
    "divorce-visit-cancelled": lazy("The certificate visit is cancelled."),
    "divorce-received": lazy("Receipt recorded: the cooling-off period runs."),
    "divorce-registered": lazy("The divorce is registered."),
})
PARTY_FIELDS = ("party.name", "party.id_type", "party.id_number", "party.phone", "party.hukou_province", "code")


def _slot_id(form: dict[str, Any]) -> int:
    raw = form.get("slot_id")
    if not (isinstance(raw, str) and raw.isdigit() and len(raw) < 10):
        raise invalid("slot_id", lazy("This field is required."))
    return int(raw)


class DivorcePages(Controller):
    path = "/me/divorce"

    @get("/confirm", name="divorce-confirm")
    async def confirm_form(self, request: Request[Any, Any, Any],
                           ctx: NamedDependency[Context]) -> Response[Any]:
        require_couple(request, ctx.principal)
        return page(request, "divorce_confirm.html", private=True, form=FormState())

    @post("/confirm", name="divorce-confirm-post")
    async def confirm(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context]) -> Response[Any]:
        require_couple(request, ctx.principal)
        form = await posted(request)
        try:
            data = parse(ConfirmApplicationIn, {**unflatten(form, ("party",)), "code": form.get("code", ""),
                                                "locale": ctx.locale})
            case = await apply.confirm_application(ctx, data)
            case = as_json(case)
        except Problem as problem:
            await ctx.session.rollback()
            return page(request, "divorce_confirm.html", private=True, status_code=problem.status,
                        form=refused(problem, form, PARTY_FIELDS))
        return redirect(request, f"/me/divorce/{case['id']}", notice="divorce-confirmed")

    @get("/{case_id:uuid}", name="my-divorce")
    async def case(self, request: Request[Any, Any, Any], case_id: FromPath[uuid.UUID],
                   ctx: NamedDependency[Context]) -> Response[Any]:
        require_couple(request, ctx.principal)
        return await _case_page(request, ctx, case_id, FormState())

    @post("/{case_id:uuid}/{action:str}", name="my-divorce-action")
    async def act(self, request: Request[Any, Any, Any], case_id: FromPath[uuid.UUID], action: FromPath[str],
                  ctx: NamedDependency[Context]) -> Response[Any]:
        require_couple(request, ctx.principal)
        form = await posted(request)
        steps = {
            "withdraw": (lambda: ending.withdraw(ctx, case_id), "divorce-withdrawn"),
            "book-visit": (lambda: window.book_certificate_visit(ctx, case_id,
                                                                 _slot_id(form)), "divorce-visit-booked"),
            "confirm-visit": (lambda: window.confirm_certificate_visit(ctx, case_id),
                              "divorce-confirmed"),
            "cancel-visit": (lambda: window.cancel_certificate_visit(ctx, case_id),
                             "divorce-visit-cancelled"),
        }
        if action not in steps:
            raise NotFound()
        step, notice = steps[action]
        try:
            await step()
        except Problem as problem:
            await ctx.session.rollback()
            return await _case_page(request, ctx, case_id,
                                    refused(problem, form, ("slot_id",)), status_code=problem.status)
        return redirect(request, f"/me/divorce/{case_id}", notice=notice)


async def _case_page(request: Request[Any, Any, Any], ctx: Context, case_id: uuid.UUID, form: FormState, *,
                     status_code: int = 200) -> Response[Any]:
    case = await reads.get_case(ctx, case_id)
    case = as_json(case)
    office = await ctx.rt.offices.of(case["office_id"], ctx.session)
    choices = []
    if case["next_step"] == "book_certificate_visit":
        opens, ends = date.fromisoformat(case["window_opens"]), date.fromisoformat(case["window_ends"])
        choices = [(str(s.slot_id), calendar.slot_label(s, office.timezone, ctx.locale))
                   for s in await calendar.free_slots(ctx.rt, office.id, DIVORCE)
                   if s.remaining > 0 and opens <= s.starts_at.astimezone(office.tz).date() <= ends]
    return page(request, "divorce.html", status_code=status_code, private=True, case=case, office=office,
                choices=choices, form=form)


async def my_cases(ctx: Context) -> list[dict[str, Any]]:
    """For ``/me``: the cases the couple's account takes part in."""
    return as_json(await reads.list_own(ctx))


class DivorceDeskPages(Controller):
    path = "/desk/divorce"

    @get("/", name="desk-divorce")
    async def desk(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                   office: OfficeParam = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/divorce")
        return await _desk_page(request, ctx, desk, FormState())

    @post("/{case_id:uuid}/{action:str}", name="desk-divorce-action")
    async def act(self, request: Request[Any, Any, Any], case_id: FromPath[uuid.UUID], action: FromPath[str],
                  ctx: NamedDependency[Context], office: OfficeParam = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/divorce")
        # the case must be this desk's office's (the services check the principal's office)
        case = await reads.get_case(ctx, case_id)
        case = as_json(case)
        if case["office_id"] != desk.office_id:
            raise NotFound()
        form = await posted(request)
        try:
            if action == "receipt":
                await counter.record_receipt(ctx, case_id,
                                             form.get("marriage_certificate_checked") == "on")
                notice = "divorce-received"
            elif action == "withdraw":
                party = form.get("party")
                if party not in ("1", "2"):
                    raise invalid("party", lazy("Say which party withdraws."))
                await ending.withdraw(ctx, case_id, int(party))
                notice = "divorce-withdrawn"
            elif action == "registration":
                await counter.register_divorce(ctx, case_id)
                notice = "divorce-registered"
            else:
                raise NotFound()
        except Problem as problem:
            await ctx.session.rollback()
            return await _desk_page(request, ctx, desk, refused(problem, form),
                                    status_code=problem.status)
        return redirect(request, desk.href("/desk/divorce"), notice=notice)


async def _desk_page(request: Request[Any, Any, Any], ctx: Context, desk: Desk, form: FormState, *,
                     status_code: int = 200) -> Response[Any]:
    open_cases = []
    for status in ("applying", "received"):
        cases, _total = await reads.list_office(ctx, desk.office_id, status=status,
                                                limit=100, offset=0)
        open_cases += cases
    return desk_page(request, "desk_divorce.html", desk, status_code=status_code, cases=open_cases, form=form)
