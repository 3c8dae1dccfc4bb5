"""A peak day's ballot as a couple sees it: what it allots and when, how to check its draw,
their own entry, and the entry form (the API's schema and service behind it)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from booking.ballots import entries
from booking.ballots import services as ballots
from booking.ballots.schemas import EntryCreate
from booking.context import Context
from booking.errors import NotFound, Problem
from booking.peakdays.services import peak_days
from booking.schemas import PathId, as_json
from booking.web import calendar
from booking.web.forms import PARTIES_SHOWN, FormState, idempotency_key, parse, posted, refused, unflatten
from booking.web.pages import note_outcome, page, redirect
from booking.web.session import require_couple

ENTRY_FIELDS = ("parties",)
SHOWN = (*PARTIES_SHOWN, "times")


class BallotPages(Controller):
    path = "/offices/{office_id:int}/ballots"

    @get("/{ballot_id:uuid}", name="ballot")
    async def ballot(self, request: Request[Any, Any, Any], office_id: PathId, ballot_id: FromPath[uuid.UUID],
                     ctx: NamedDependency[Context]) -> Response[Any]:
        return await _ballot_page(request, ctx, office_id, ballot_id, FormState())

    @post("/{ballot_id:uuid}/entries", name="ballot-enter")
    async def enter(self, request: Request[Any, Any, Any], office_id: PathId, ballot_id: FromPath[uuid.UUID],
                    ctx: NamedDependency[Context]) -> Response[Any]:
        principal = require_couple(request, ctx.principal)
        form = await posted(request)
        fields = unflatten(form, ENTRY_FIELDS)
        times = (await request.form()).getall("times") if "times" in form else []
        if times:
            fields["times"] = times
        try:
            await _ballot_of(ctx, office_id, ballot_id)
            _status, body = await entries.enter(ctx.rt, principal, ballot_id, parse(EntryCreate, fields),
                                                key=idempotency_key(form), locale=ctx.locale)
            body = as_json(body)
        except Problem as problem:
            note_outcome(request, problem=problem)
            await ctx.session.rollback()
            return await _ballot_page(request, ctx, office_id, ballot_id, refused(problem, form, SHOWN),
                                      status_code=problem.status, chosen=times)
        note_outcome(request, status=body["state"])
        return redirect(request, f"/offices/{office_id}/ballots/{ballot_id}#mine", notice="entered")


async def _ballot_of(ctx: Context, office_id: int, ballot_id: uuid.UUID) -> dict[str, Any]:
    ballot = await ballots.get_ballot(ctx, ballot_id)
    ballot = as_json(ballot)
    if ballot["office_id"] != office_id:
        raise NotFound()
    return ballot


async def _ballot_page(request: Request[Any, Any, Any], ctx: Context, office_id: int, ballot_id: uuid.UUID,
                       form: FormState, *, status_code: int = 200,
                       chosen: list[str] | None = None) -> Response[Any]:
    session, locale, viewer = ctx.session, ctx.locale, ctx.principal
    office = await calendar.office_or_404(ctx.rt, office_id)
    ballot = await _ballot_of(ctx, office_id, ballot_id)
    day = date.fromisoformat(ballot["date"])
    names = [n for p in await peak_days(session, day, day, locale, office_id) for n in p["names"]]
    seats, _slots = await ballots.free_seats(session, office, ballot["service"], day)
    mine: list[dict[str, Any]] = []
    if viewer is not None and viewer.is_couple:
        own, _ = await entries.list_own(ctx, limit=50, offset=0)
        own = as_json(own)
        mine = [e for e in own if e["ballot_id"] == str(ballot_id)]
    standing = [e for e in mine if e["state"] not in ("withdrawn", "lapsed")]
    return page(request, "ballot.html", status_code=status_code, private=viewer is not None, office=office,
                ballot=ballot, names=names, times=list(seats), chosen=set(chosen or ()), mine=mine, standing=standing,
                form=form, key=form.key())

