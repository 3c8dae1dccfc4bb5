"""``/desk/ballots``: the office's peak days and their ballots (摇号), as a clerk runs them.

The office's own peak days are added here; a ballot is set up for a peak day (the API's
``create_ballot``: its seed is drawn and only the commitment published); a ballot's page
shows its entries (masked parties, in arrival order until the draw, then in draw order with
the waitlist's positions) and, once its moment has passed and the worker has not drawn it,
the button that runs the draw by hand (``draw_by_hand``: at most once). Times are typed in
the office's timezone."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from booking.ballots import draw as draws
from booking.ballots import entries as ballot_entries
from booking.ballots import services as ballots
from booking.ballots.schemas import BallotCreate
from booking.context import Context
from booking.errors import NotFound
from booking.i18n import lazy
from booking.kernel.catalog import service_title
from booking.peakdays import services as peakdays
from booking.peakdays.schemas import PeakDayCreate
from booking.schemas import as_json
from booking.web.forms import FormState, parse, posted, submit
from booking.web.pages import NOTICES, redirect
from booking.web.staff import Desk, OfficeParam, desk_for, desk_page, office_moments

NOTICES.update({
    "peak-day-added": lazy("The peak day is added."),
    "ballot-created": lazy("The ballot is set up; its seed's commitment is published."),
    "ballot-drawn": lazy("The draw has run: winners are booked, the others waitlisted and told."),
})
BALLOT_FIELDS = ("date", "service", "entry_opens_at", "entry_closes_at", "draw_at")
PEAK_FIELDS = ("date", "name_zh", "name_en")
PEAK_FORM = "peak_day"
TIME_FIELDS = ("entry_opens_at", "entry_closes_at", "draw_at")
ENTRY_STATES = ("entered", "won", "waitlisted", "withdrawn", "lapsed")
EntryState = Annotated[str | None, QueryParameter(name="status", pattern=r"^(entered|won|waitlisted|withdrawn|lapsed)$")]
PAGE_SIZE = 200
AHEAD = timedelta(days=365)
RECENT = timedelta(days=60)  # drawn ballots stay listed a while after their day


def ballot_input(form: dict[str, Any], desk: Desk) -> dict[str, Any]:
    """The form as the API's body: ``datetime-local`` values are in the office's timezone."""
    assert desk.office is not None
    data: dict[str, Any] = {k: form[k].strip() for k in ("date", "service")
                            if isinstance(form.get(k), str) and form[k].strip()}
    data.update(office_moments(form, TIME_FIELDS, desk))
    return data


async def _ballot(ctx: Context, desk: Desk, ballot_id: uuid.UUID) -> dict[str, Any]:
    """The ballot, when it is this desk's office's (ballots are public: the office decides)."""
    found = await ballots.get_ballot(ctx, ballot_id)
    found = as_json(found)
    if found["office_id"] != desk.office_id:
        raise NotFound()
    return found


class DeskBallotPages(Controller):
    path = "/desk/ballots"

    @get("/", name="desk-ballots")
    async def overview(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                       office: OfficeParam = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/ballots")
        return await _overview(request, ctx, desk)

    @post("/peak-days", name="desk-peak-day-add")
    async def add_peak_day(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                           office: OfficeParam = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/ballots")
        form = await posted(request)
        # the form's fields are named ``peak_day.date`` ...: the ballot's form on the same page
        # has a ``date`` of its own
        fields = {k: form.get(f"{PEAK_FORM}.{k}") for k in PEAK_FIELDS}

        async def act() -> Response[Any]:
            data = parse(PeakDayCreate, {k: v.strip() for k, v in fields.items() if isinstance(v, str) and v.strip()})
            await peakdays.add_office_peak_day(ctx, desk.office_id, data)
            return redirect(request, desk.href("/desk/ballots"), notice="peak-day-added")

        def again(state: FormState, status: int) -> Awaitable[Response[Any]]:
            state.values = {f"{PEAK_FORM}.{k}": v for k, v in state.values.items()}
            state.errors = {f"{PEAK_FORM}.{k}": v for k, v in state.errors.items()}
            return _overview(request, ctx, desk, peak_form=state, status_code=status)
        return await submit(ctx, fields, PEAK_FIELDS, act, again)

    @post("/", name="desk-ballot-create")
    async def create(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                     office: OfficeParam = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/ballots")
        form = await posted(request)

        async def act() -> Response[Any]:
            data = parse(BallotCreate, ballot_input(form, desk))
            created = await ballots.create_ballot(ctx, desk.office_id, data)
            return redirect(request, desk.href(f"/desk/ballots/{created.id}"), notice="ballot-created")
        return await submit(ctx, form, BALLOT_FIELDS, act, lambda state, status: _overview(
            request, ctx, desk, ballot_form=state, status_code=status))

    @get("/{ballot_id:uuid}", name="desk-ballot")
    async def ballot(self, request: Request[Any, Any, Any], ballot_id: FromPath[uuid.UUID],
                     ctx: NamedDependency[Context],
                     office: OfficeParam = None, status: EntryState = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/ballots")
        return await _ballot_page(request, ctx, desk, ballot_id, status, FormState())

    @post("/{ballot_id:uuid}/draw", name="desk-ballot-draw")
    async def draw(self, request: Request[Any, Any, Any], ballot_id: FromPath[uuid.UUID],
                   ctx: NamedDependency[Context],
                   office: OfficeParam = None) -> Response[Any]:
        desk = await desk_for(request, ctx, office, "/desk/ballots")
        await _ballot(ctx, desk, ballot_id)
        await posted(request)

        async def act() -> Response[Any]:
            await draws.draw_by_hand(ctx, ballot_id)
            return redirect(request, desk.href(f"/desk/ballots/{ballot_id}"), notice="ballot-drawn")
        return await submit(ctx, {}, (), act, lambda state, status: _ballot_page(
            request, ctx, desk, ballot_id, None, state, status_code=status))


async def _overview(request: Request[Any, Any, Any], ctx: Context, desk: Desk, *,
                    peak_form: FormState | None = None, ballot_form: FormState | None = None,
                    status_code: int = 200) -> Response[Any]:
    assert desk.office is not None
    session, locale = ctx.session, ctx.locale
    today = ctx.now.astimezone(desk.office.tz).date()
    days = await peakdays.peak_days(session, today, today + AHEAD, locale, office_id=desk.office_id)
    listed = await ballots.list_ballots(ctx, desk.office_id, today - RECENT, None)
    listed = as_json(listed)
    return desk_page(request, "desk/ballots.html", desk, status_code=status_code, peak_days=days, ballots=listed,
                     peak_form=peak_form or FormState(), ballot_form=ballot_form or FormState(),
                     service_options=[(code, service_title(code, locale)) for code in desk.office.services],
                     chosen_date=request.query_params.get("date", ""))


async def _ballot_page(request: Request[Any, Any, Any], ctx: Context, desk: Desk, ballot_id: uuid.UUID,
                       status: str | None, form: FormState, *, status_code: int = 200) -> Response[Any]:
    found = await _ballot(ctx, desk, ballot_id)
    rows, total = await ballot_entries.list_for_office(ctx, ballot_id, status,
                                                       limit=PAGE_SIZE, offset=0)
    rows = as_json(rows)
    due = found["state"] == "closed" and ctx.now >= datetime.fromisoformat(found["draw_at"])
    return desk_page(request, "desk/ballot.html", desk, status_code=status_code, ballot=found, entries=rows,
                     total=total, status=status, states=ENTRY_STATES, form=form, draw_due=due)
