"""The front page (find an office, see upcoming weddings) and the language switch."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from booking.context import Context
from booking.events import services as events
from booking.offices import services as offices
from booking.web.pages import page, set_language
from booking.web.session import safe_next

UPCOMING_EVENTS = 6


class HomePages(Controller):
    @get("/", name="home")
    async def home(
        self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
        province: Annotated[str | None, QueryParameter(pattern=r"^([0-9]{2})?$")] = None,
        q: Annotated[str | None, QueryParameter(max_length=50)] = None,
    ) -> Template:
        rows, _total = await offices.list_offices(ctx.session, province=province or None, service=None,
                                                  limit=500, offset=0)
        found = [offices.office_public(o, ctx.locale) for o in rows]
        words = (q or "").strip().casefold()
        if words:  # by name, city or address, in either language
            found = [o for o in found if any(words in text.casefold() for text in (
                o.name_zh, o.name_en, o.city, o.address))]
        upcoming, _ = await events.list_events(ctx, office_id=None, kind=None, start=None, end=None,
                                               include_cancelled=False, limit=UPCOMING_EVENTS, offset=0)
        return page(request, "home.html", fragment="_offices.html", offices=found, events=upcoming,
                    province=province or "", q=q or "")

    @get("/lang/{tag:str}", name="language")
    async def language(self, request: Request[Any, Any, Any], tag: FromPath[str],
                       next_path: Annotated[str | None, QueryParameter(name="next")] = None) -> Redirect:
        response = Redirect(path=safe_next(next_path, "/"), status_code=303)
        if tag in ("zh-CN", "en"):
            set_language(response, tag)
        return response
