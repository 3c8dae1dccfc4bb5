"""What every page handler shares: the page's language, who is looking, rendering a template
with the common context, redirects with a one-time notice, and the form's errors.

Language: the ``lang`` cookie (set by the switch on every page), else ``Accept-Language``,
else the service's default (Chinese). It is stored where the API's error rendering looks
for it, so a problem raised by a service on a page is worded in the page's language too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, Response
from litestar.response import Redirect, Template

from booking.context import Context
from booking.errors import Problem
from booking.http.problems import PROBLEM_CODE_STATE
from booking.i18n import LazyText, lazy, negotiate
from booking.observability.outcomes import ANSWER_STATUS_STATE
from booking.runtime import Runtime
from booking.web import session as page_session

LANG_COOKIE = "lang"
LANGS = {"zh-CN": "zh_Hans_CN", "en": "en"}
FLASH_COOKIE = "notice"
YEAR = 365 * 24 * 3600

# One-time notices shown after a redirect, by key (the cookie carries the key, not text).
# Staff pages add theirs.
NOTICES: dict[str, LazyText] = {
    "logged-in": lazy("You are logged in."),
    "logged-out": lazy("You are logged out."),
    "registered": lazy("Your account is ready and you are logged in."),
    "booked": lazy("Your appointment is booked."),
    "cancelled": lazy("The appointment is cancelled."),
    "rescheduled": lazy("The appointment has been moved."),
    "applied": lazy("Your application is sent. Upload the documents it asks for."),
    "uploaded": lazy("The document is uploaded."),
    "resubmitted": lazy("Your application is back with the office."),
    "withdrawn": lazy("Your application is withdrawn and its seat released."),
    "signed-up": lazy("Your sign-up is received."),
    "signup-cancelled": lazy("Your sign-up is cancelled."),
    "entered": lazy("Your ballot entry is received. You will be told the result after the draw."),
    "entry-withdrawn": lazy("Your ballot entry is withdrawn."),
}


def lang_tag(locale: str) -> str:
    return "zh-CN" if locale.startswith("zh") else "en"


def choose_locale(request: Request[Any, Any, Any]) -> str:
    chosen = LANGS.get(request.cookies.get(LANG_COOKIE, ""))
    request.state.locale = chosen or negotiate(request.headers.get("accept-language"),
                                               request.app.state.default_locale)
    return request.state.locale  # type: ignore[no-any-return]


async def prepare_page(request: Request[Any, Any, Any]) -> None:
    """``before_request`` of every page: choose the language, read the session."""
    choose_locale(request)
    request.state.viewer = await page_session.provide_viewer(request)


async def provide_page_ctx(request: Request[Any, Any, Any]) -> AsyncIterator[Context]:
    """A page's ``Context``: the viewer (or None) as its principal, the page's language."""
    rt: Runtime = request.app.state.runtime
    async with rt.db.session() as session:
        yield Context(rt, session, request.state.get("viewer"), rt.clock.now(), request.state.locale)


def _finish(response: Response[Any], request: Request[Any, Any, Any]) -> Response[Any]:
    renewed = request.state.get(page_session.RENEW)
    if renewed:
        page_session.set_session(response, request, renewed)
    return response


def page(request: Request[Any, Any, Any], template: str, *, status_code: int = 200, fragment: str | None = None,
         private: bool = False, **context: Any) -> Template:
    """Render ``template`` (or, for an HTMX request, ``fragment``) with the common context."""
    locale = request.state.locale
    notice = NOTICES.get(request.cookies.get(FLASH_COOKIE, ""))
    name = fragment if fragment and request.headers.get("hx-request") == "true" else template
    response = Template(template_name=name, status_code=status_code, context={
        "locale": locale, "lang": lang_tag(locale), "viewer": request.state.get("viewer"),
        "here": page_session.here(request), "notice": notice, **context,
    }, headers={"Cache-Control": "private, no-store" if private else "private, no-cache",
                "Vary": "Cookie, Accept-Language, HX-Request"})
    if notice is not None or FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return _finish(response, request)  # type: ignore[return-value]


def redirect(request: Request[Any, Any, Any], path: str, *, notice: str | None = None) -> Redirect:
    """303 See Other (a form post becomes a GET of the result), with a one-time notice."""
    response = Redirect(path=path, status_code=303)
    if notice is not None:
        response.set_cookie(FLASH_COOKIE, notice, max_age=120, path="/", httponly=True, samesite="lax")
    return _finish(response, request)  # type: ignore[return-value]


def note_outcome(request: Request[Any, Any, Any], *, status: str | None = None,
                 problem: Problem | None = None) -> None:
    """A booking, application or sign-up page notes what became of the request, as the API's
    handlers do, so /metrics counts the outcomes of both (``observability.outcomes``)."""
    state = request.scope.setdefault("state", {})
    if status is not None:
        state[ANSWER_STATUS_STATE] = status
    if problem is not None:
        state[PROBLEM_CODE_STATE] = problem.code


def set_language(response: Response[Any], tag: str) -> None:
    response.set_cookie(LANG_COOKIE, tag, max_age=YEAR, path="/", samesite="lax")
