"""The web's error handlers: problems, Litestar's own HTTP exceptions, validation failures
and database errors become ``application/problem+json`` answers in the caller's language.
Nothing unexpected becomes a 500 with details; it is logged without the request body
(which may hold personal data).
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    SerializationException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from booking.db.errors import database_unavailable, out_of_range, retryable, sqlstate
from booking.errors import (
    Conflict,
    InvalidInput,
    MalformedBody,
    Problem,
    ServiceUnavailable,
    problem_for_status,
)
from booking.http.validation import pydantic_field_errors, validation_errors
from booking.i18n import lazy, negotiate

logger = logging.getLogger("booking.errors")

PROBLEM_JSON = "application/problem+json"
# where a problem answer leaves its code in the request's scope state (the metrics read it)
PROBLEM_CODE_STATE = "booking.problem_code"


def request_locale(request: Request[Any, Any, Any]) -> str:
    cached = request.scope.get("state", {}).get("locale") if isinstance(request.scope.get("state"), dict) else None
    if cached:
        return cached
    default = getattr(request.app.state, "default_locale", "zh_Hans_CN")
    return negotiate(request.headers.get("accept-language"), default)


def problem_response(request: Request[Any, Any, Any], problem: Problem) -> Response[Any]:
    locale = request_locale(request)
    request.scope.setdefault("state", {})[PROBLEM_CODE_STATE] = problem.code
    headers = {"Content-Language": "zh-CN" if locale.startswith("zh") else "en", **problem.headers}
    return Response(
        content=problem.to_body(locale, instance=request.url.path),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _on_problem(request: Request[Any, Any, Any], exc: Problem) -> Response[Any]:
    return problem_response(request, exc)


def _on_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    return problem_response(request, InvalidInput(errors=validation_errors(exc)))


def _on_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code == 400 and isinstance(exc.__cause__, SerializationException):
        return problem_response(request, MalformedBody())
    detailed = getattr(exc.__cause__, "errors", None)
    if exc.status_code == 500 and isinstance(detailed, list) and detailed and isinstance(detailed[0], dict) \
            and "loc" in detailed[0]:
        # A body field named like one of the handler's dependencies (``locale``) makes Litestar
        # take the body's validation error for its own and answer 500: it is the caller's 422.
        return problem_response(request, InvalidInput(errors=pydantic_field_errors(detailed)))
    problem = problem_for_status(exc.status_code)
    if exc.headers:
        problem.headers.update(exc.headers)
    return problem_response(request, problem)


def _on_integrity(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[Any]:
    # A constraint the service did not translate itself: still the caller's conflict,
    # and nothing was written (the transaction rolled back). Log the constraint only.
    logger.warning("unmapped integrity error on %s %s: %s", request.method, request.url.path,
                   type(getattr(exc, "orig", exc)).__name__)
    return problem_response(request, Conflict())


def _on_db_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.error("database unavailable on %s %s: %s", request.method, request.url.path,
                 type(getattr(exc, "orig", None) or exc).__name__)
    return problem_response(request, ServiceUnavailable(headers={"Retry-After": "2"}))


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if database_unavailable(exc):
        return _on_db_unavailable(request, exc)
    if out_of_range(exc):
        logger.info("out-of-range input on %s %s", request.method, request.url.path)
        return problem_response(request, InvalidInput(lazy("A value in the request is out of range.")))
    if retryable(exc):
        logger.warning("transaction conflict on %s %s: %s", request.method, request.url.path, sqlstate(exc))
        return problem_response(request, ServiceUnavailable(headers={"Retry-After": "1"}))
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(request, problem_for_status(HTTP_500_INTERNAL_SERVER_ERROR))


exception_handlers: dict[Any, Any] = {
    Problem: _on_problem,
    ValidationException: _on_validation,
    NotAuthorizedException: _on_http,
    PermissionDeniedException: _on_http,
    NotFoundException: _on_http,
    HTTPException: _on_http,
    IntegrityError: _on_integrity,
    PoolTimeoutError: _on_db_unavailable,
    OperationalError: _on_db_unavailable,
    Exception: _on_unexpected,
}

