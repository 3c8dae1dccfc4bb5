"""Errors on pages are pages: the same problems the API answers with problem+json, shown as
HTML in the page's language (the router's exception handlers are nearer than the app's)."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, PermissionDeniedException, ValidationException
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import Receive, Scope, Send

from booking.db.errors import database_unavailable
from booking.errors import InternalError, InvalidInput, Problem, ServiceUnavailable, problem_for_status
from booking.i18n import lazy
from booking.web.pages import choose_locale, page, redirect
from booking.web.session import LoginRequired, login_url

logger = logging.getLogger("booking.web")

FORM_EXPIRED = lazy("This form has expired. Go back, reload the page and send it again.")


def _error_page(request: Request[Any, Any, Any], problem: Problem) -> Response[Any]:
    if "locale" not in request.state:  # raised before the page's own hook ran (CSRF middleware)
        choose_locale(request)
    response = page(request, "error.html", status_code=problem.status, problem=problem)
    response.headers.update(problem.headers)
    return response


def _on_problem(request: Request[Any, Any, Any], exc: Problem) -> Response[Any]:
    return _error_page(request, exc)


def _on_login_required(request: Request[Any, Any, Any], exc: LoginRequired) -> Response[Any]:
    if request.headers.get("hx-request") == "true":
        # a part of a page (the desk's polling roster) whose session ended (logged out,
        # deactivated): the whole page goes to the login, not the login into the part
        return Response(b"", status_code=200, headers={"HX-Redirect": login_url(exc.next_path),
                                                      "Cache-Control": "no-store"})
    return redirect(request, login_url(exc.next_path))


def _on_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, PermissionDeniedException) and "CSRF" in str(exc.detail):
        problem: Problem = problem_for_status(403)
        problem.detail = FORM_EXPIRED
        return _error_page(request, problem)
    if isinstance(exc, ValidationException):
        return _error_page(request, InvalidInput())
    return _error_page(request, problem_for_status(exc.status_code))


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if database_unavailable(exc):
        return _error_page(request, ServiceUnavailable(headers={"Retry-After": "2"}))
    logger.exception("unhandled error on page %s %s", request.method, request.url.path)
    return _error_page(request, InternalError())


def wants_page(request: Request[Any, Any, Any]) -> bool:
    """A browser asking for a page (not the API, its document or a static file): an
    address that matches no route is then answered with the error page, not JSON."""
    path = request.url.path
    if path.startswith(("/api/", "/schema", "/static/", "/metrics", "/health", "/ready")):
        return False
    return "text/html" in request.headers.get("accept", "")


def unmatched_page(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """The error page for an address no route matches (404, or 405 for a method no page has)."""
    problem = problem_for_status(exc.status_code)
    problem.headers.update(exc.headers or {})  # a 405's Allow
    return _error_page(request, problem)


page_exception_handlers: dict[Any, Any] = {
    LoginRequired: _on_login_required,
    Problem: _on_problem,
    HTTPException: _on_http,
    Exception: _on_unexpected,
}


class PageCSRFMiddleware(CSRFMiddleware):
    """Litestar's CSRF check (double submit: the form's token against the HttpOnly cookie),
    with its refusal shown as a page: a middleware's exception does not reach the router's
    handlers."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except PermissionDeniedException as exc:
            request: Request[Any, Any, Any] = scope["litestar_app"].request_class(scope=scope, receive=receive)
            response = _on_http(request, exc)
            await response.to_asgi_response(app=None, request=request)(scope, receive, send)
