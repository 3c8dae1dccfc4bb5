"""Cross-province registration (跨省通办): may we register at this office on this date, and
what do we bring (the jurisdiction assessment); then the application holding a seat, its
document uploads, its status and the clerk's messages."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath

from booking.applications import services as applications
from booking.applications.schemas import ApplicationCreate, DocumentUpload
from booking.context import Context
from booking.db.models.applications import OPEN_STATUSES
from booking.errors import Problem, invalid
from booking.i18n import lazy
from booking.jurisdiction.policy import DOCUMENT_KINDS
from booking.jurisdiction.schemas import AssessIn
from booking.jurisdiction.services import assess_for
from booking.kernel.catalog import SERVICES, service_title
from booking.offices import services as offices
from booking.schemas import as_json
from booking.security.ratelimit import count_request
from booking.web import calendar
from booking.web.forms import PARTIES_SHOWN, FormState, idempotency_key, parse, posted, refused, submit, unflatten
from booking.web.pages import note_outcome, page, redirect
from booking.web.session import require_couple

ASSESS_FIELDS = ("office_id", "service", "date", "parties", "residence_permit_division")
ASSESS_SHOWN = ("office_id", "service", "date", "parties.0.hukou_province", "parties.1.hukou_province",
                "residence_permit_division", "permit")
APPLY_FIELDS = ("slot_id", "service", "parties", "answers")
APPLY_SHOWN = (*PARTIES_SHOWN, "slot_id",
               "answers.residence_permit.party", "answers.residence_permit.division_code", "answers.note")
UPLOAD_SHOWN = ("kind", "party", "file")
NEAR = 8  # slots offered when the date asked about has none


class CrossProvincePages(Controller):
    path = "/cross-province"

    @get("/", name="cross-province")
    async def assess(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context]) -> Response[Any]:
        asked = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
        return await _assessment_page(request, ctx, asked, FormState(values=asked))

    @post("/applications", name="cross-province-apply")
    async def apply(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context]) -> Response[Any]:
        principal = require_couple(request, ctx.principal)
        form = await posted(request)
        fields = unflatten(form, APPLY_FIELDS)
        answers = fields.setdefault("answers", {})
        if form.get("permit") != "yes":
            answers.pop("residence_permit", None)
        try:
            await count_request(request, "booking", principal.id)
            _status, body = await applications.submit(
                ctx.rt, principal, parse(ApplicationCreate, fields), locale=ctx.locale,
                key=idempotency_key(form))
            body = as_json(body)
        except Problem as problem:
            note_outcome(request, problem=problem)
            asked = {k: v for k, v in form.items() if isinstance(v, str)}
            return await _assessment_page(request, ctx, asked,
                                          refused(problem, form, APPLY_SHOWN), status_code=problem.status)
        note_outcome(request, status=body["status"])
        return redirect(request, f"/cross-province/applications/{body['id']}", notice="applied")

    @get("/applications/{application_id:uuid}", name="cross-province-application")
    async def application(self, request: Request[Any, Any, Any], application_id: FromPath[uuid.UUID],
                          ctx: NamedDependency[Context]) -> Response[Any]:
        require_couple(request, ctx.principal)
        return await _application_page(request, ctx, application_id, FormState())

    @post("/applications/{application_id:uuid}/documents", name="cross-province-upload")
    async def upload(self, request: Request[Any, Any, Any], application_id: FromPath[uuid.UUID],
                     ctx: NamedDependency[Context]) -> Response[Any]:
        require_couple(request, ctx.principal)
        form = await posted(request)
        file, kind, party = form.get("file"), form.get("kind"), form.get("party")

        async def act() -> Response[Any]:
            if not isinstance(file, UploadFile) or not file.filename:
                raise invalid("file", lazy("Choose a file to upload."))
            try:
                await applications.upload(ctx, application_id, DocumentUpload(
                    file=file, kind=kind if isinstance(kind, str) else "",
                    party=party if isinstance(party, str) and party else None), key=None)
            finally:
                await file.close()
            return redirect(request, f"/cross-province/applications/{application_id}", notice="uploaded")
        return await submit(ctx, form, UPLOAD_SHOWN, act, lambda state, status: _application_page(
            request, ctx, application_id, state, status_code=status))

    @post("/applications/{application_id:uuid}/resubmit", name="cross-province-resubmit")
    async def resubmit(self, request: Request[Any, Any, Any], application_id: FromPath[uuid.UUID],
                       ctx: NamedDependency[Context]) -> Response[Any]:
        return await _change(request, ctx, application_id, "resubmitted",
                             lambda: applications.resubmit(ctx, application_id, None))

    @post("/applications/{application_id:uuid}/withdraw", name="cross-province-withdraw")
    async def withdraw(self, request: Request[Any, Any, Any], application_id: FromPath[uuid.UUID],
                       ctx: NamedDependency[Context]) -> Response[Any]:
        return await _change(request, ctx, application_id, "withdrawn",
                             lambda: applications.withdraw(ctx, application_id))


async def _change(request: Request[Any, Any, Any], ctx: Context, application_id: uuid.UUID, notice: str,
                  action: Callable[[], Awaitable[Any]]) -> Response[Any]:
    require_couple(request, ctx.principal)

    async def act() -> Response[Any]:
        await action()
        return redirect(request, f"/cross-province/applications/{application_id}", notice=notice)
    return await submit(ctx, {}, (), act, lambda state, status: _application_page(
        request, ctx, application_id, state, status_code=status))


async def _assessment_page(request: Request[Any, Any, Any], ctx: Context, asked: dict[str, str],
                           form: FormState,
                           *, status_code: int = 200) -> Response[Any]:
    """The question form; with an answer once it is asked; with the application form when
    the answer is "yes, after the office's review"."""
    runtime, session, locale = ctx.rt, ctx.session, ctx.locale
    rows, _ = await offices.list_offices(session, province=None, service=None, limit=500, offset=0)
    office_options = [(str(o.id), o.name_zh if locale.startswith("zh") else o.name_en) for o in rows]
    verdict = office = None
    slots: list[calendar.FreeSlot] = []
    if asked.get("office_id"):
        fields = unflatten(asked, ASSESS_FIELDS)
        if asked.get("permit") == "no":
            fields["residence_permit_division"] = None  # answered: neither holds one
        elif asked.get("permit") != "yes":
            fields.pop("residence_permit_division", None)  # not answered
        try:
            question = parse(AssessIn, fields)
            verdict = await assess_for(runtime, question, locale)
        except Problem as problem:
            if not form.failed:
                form = refused(problem, asked, ASSESS_SHOWN)
                status_code = problem.status
        else:
            office = await calendar.office_or_404(runtime, question.office_id)
            if verdict.may_register and verdict.prereview:
                slots = _around(await calendar.free_slots(runtime, office.id, question.service), office,
                                question.date)
    return page(request, "cross_province.html", status_code=status_code, private=True,
                office_options=office_options, service_options=[(s, service_title(s, locale)) for s in SERVICES],
                verdict=verdict, office=office, slots=slots, form=form, asked=asked,
                key=form.key())


def _around(slots: list[calendar.FreeSlot], office: Any, day: date) -> list[calendar.FreeSlot]:
    """The free slots of the date asked about; if it has none, the nearest ones."""
    free = [s for s in slots if s.remaining > 0]
    that_day = [s for s in free if s.starts_at.astimezone(office.tz).date() == day]
    return that_day or calendar.nearest(free, datetime.combine(day, time(12), tzinfo=office.tz), count=NEAR)


async def _application_page(request: Request[Any, Any, Any], ctx: Context, application_id: uuid.UUID,
                            form: FormState, *, status_code: int = 200) -> Response[Any]:
    app = await applications.get_application(ctx, application_id)
    app = as_json(app)
    office = await calendar.office_or_404(ctx.rt, app["office_id"])
    return page(request, "application.html", status_code=status_code, private=True, app=app, office=office,
                kind_options=[(k, kind.title) for k, kind in DOCUMENT_KINDS.items()], form=form,
                open=app["status"] in OPEN_STATUSES)
