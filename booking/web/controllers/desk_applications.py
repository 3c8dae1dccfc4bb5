"""``/desk/applications``: the office's cross-province (跨省通办) pre-review queue, oldest
first; an application with its documents shown in the page (each read audited, as through
the API), and the decision: approve, reject or ask for more (the API's ``services.decide``:
a reason is required unless approving, and approval needs every required document)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from booking.applications import services
from booking.applications.documents import EXTENSIONS
from booking.applications.schemas import ApplicationDecisionIn
from booking.context import Context
from booking.errors import NotFound
from booking.i18n import lazy
from booking.schemas import as_json
from booking.web.forms import FormState, parse, posted, submit
from booking.web.pages import NOTICES, redirect
from booking.web.staff import Desk, OfficeParam, desk_for, desk_page

NOTICES.update({
    "desk-approved": lazy("The application is approved and the appointment confirmed."),
    "desk-rejected": lazy("The application is rejected and the seat released."),
    "desk-asked": lazy("The couple is asked for more."),
})
QueueStatus = Annotated[str | None, QueryParameter(
    name="status", pattern=r"^(submitted|needs_more_info|approved|rejected|withdrawn|expired)$")]
DocParam = Annotated[uuid.UUID | None, QueryParameter(name="doc")]
PAGE_SIZE = 100
STATUSES = ("submitted", "needs_more_info", "approved", "rejected", "withdrawn", "expired")


async def _application(ctx: Context, desk: Desk, application_id: uuid.UUID) -> dict[str, Any]:
    """The application, when it is this desk's office's (the service checks the principal's)."""
    app = await services.get_application(ctx, application_id)
    app = as_json(app)
    if app["office_id"] != desk.office_id:
        raise NotFound()
    return app


class DeskApplicationPages(Controller):
    path = "/desk/applications"

    @get("/", name="desk-applications")
    async def queue(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                    office: OfficeParam = None,
                    status: QueueStatus = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/applications")
        rows, total = await services.queue(ctx, desk.office_id, status=status,
                                           start=None, end=None, limit=PAGE_SIZE, offset=0)
        rows = as_json(rows)
        return desk_page(request, "desk/applications.html", desk, apps=rows, total=total, status=status,
                         statuses=STATUSES)

    @get("/{application_id:uuid}", name="desk-application")
    async def one(self, request: Request[Any, Any, Any], application_id: FromPath[uuid.UUID],
                  ctx: NamedDependency[Context],
                  office: OfficeParam = None, doc: DocParam = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/applications")
        return await _page(request, ctx, desk, application_id, FormState(), doc)

    @get("/{application_id:uuid}/documents/{document_id:uuid}", name="desk-application-document")
    async def document(self, request: Request[Any, Any, Any], application_id: FromPath[uuid.UUID],
                       document_id: FromPath[uuid.UUID], ctx: NamedDependency[Context],
                       office: OfficeParam = None) -> Response[bytes]:
        """The scan itself, shown inside the application's page (the read is audited)."""
        desk = await desk_for(request, ctx, office, "/desk/applications")
        await _application(ctx, desk, application_id)
        content, found = await services.read_document(ctx, application_id,
                                                      document_id)
        name = f"{found.kind}-{found.party or 'couple'}{EXTENSIONS[found.media_type]}"
        return Response(content, media_type=found.media_type, headers={
            "Content-Disposition": f'inline; filename="{name}"', "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store", "X-Frame-Options": "SAMEORIGIN"})

    @post("/{application_id:uuid}/decision", name="desk-application-decision")
    async def decide(self, request: Request[Any, Any, Any], application_id: FromPath[uuid.UUID],
                     ctx: NamedDependency[Context],
                     office: OfficeParam = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/applications")
        form = await posted(request)
        await _application(ctx, desk, application_id)
        notice = {"approve": "desk-approved", "reject": "desk-rejected", "needs_more_info": "desk-asked"}

        async def act() -> Response[Any]:
            data = parse(ApplicationDecisionIn, {k: form[k].strip() for k in ("decision", "reason")
                                      if isinstance(form.get(k), str) and form[k].strip()})
            await services.decide(ctx, application_id, data)
            return redirect(request, desk.href(f"/desk/applications/{application_id}"),
                            notice=notice[data.decision])
        return await submit(ctx, form, ("decision", "reason"), act, lambda state, status: _page(
            request, ctx, desk, application_id, state, None, status_code=status))


async def _page(request: Request[Any, Any, Any], ctx: Context, desk: Desk, application_id: uuid.UUID,
                form: FormState, doc: uuid.UUID | None, *, status_code: int = 200) -> Response[Any]:
    app = await _application(ctx, desk, application_id)
    shown = next((d for d in app["documents"] if str(d["id"]) == str(doc)), None) if doc else None
    return desk_page(request, "desk/application.html", desk, status_code=status_code, app=app, form=form,
                     shown=shown)
