"""Errors as ``application/problem+json`` (RFC 9457), titled in the caller's language.

Services raise ``Problem`` subclasses; the handlers here turn those, Litestar's own
HTTP exceptions and validation failures into problem documents with a stable ``type``
(``urn:booking:problem:<code>``), a translated ``title`` and, for invalid input, the
fields at fault. Nothing unexpected becomes a 500 with details; it is logged without the
request body (which may hold personal data).
"""

from __future__ import annotations

import logging
import re
from typing import Any, ClassVar

import asyncpg
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    SerializationException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from booking.i18n import N_, LazyText, lazy, negotiate

logger = logging.getLogger("booking.errors")

PROBLEM_JSON = "application/problem+json"
# where a problem answer leaves its code in the request's scope state (the metrics read it)
PROBLEM_CODE_STATE = "booking.problem_code"


def problem_type(code: str) -> str:
    return f"urn:booking:problem:{code}"


class Problem(Exception):
    """A failure the caller can understand: status, stable code, translated title."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad-request"
    title: ClassVar[LazyText] = lazy("The request could not be processed.")

    def __init__(
        self,
        detail: LazyText | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(str(detail or self.title))
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra

    def to_body(self, locale: str, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": problem_type(self.code),
            "title": self.title.render(locale),
            "status": self.status,
            "code": self.code,
        }
        if self.detail is not None:
            body["detail"] = self.detail.render(locale)
        if instance:
            body["instance"] = instance
        if self.errors is not None:
            body["errors"] = [
                {**e, "message": e["message"].render(locale) if isinstance(e["message"], LazyText) else e["message"]}
                for e in self.errors
            ]
        for key, value in self.extra.items():
            body[key] = value.render(locale) if isinstance(value, LazyText) else value
        return body


class InvalidInput(Problem):
    status = 422
    code = "invalid-input"
    title = lazy("The input is not valid.")


class NotFound(Problem):
    status = 404
    code = "not-found"
    title = lazy("Not found.")


class Unauthorized(Problem):
    status = 401
    code = "unauthorized"
    title = lazy("Authentication is required.")


class Forbidden(Problem):
    status = 403
    code = "forbidden"
    title = lazy("You are not allowed to do this.")


class Conflict(Problem):
    status = 409
    code = "conflict"
    title = lazy("The request conflicts with the current state.")


class TooManyRequests(Problem):
    status = 429
    code = "too-many-requests"
    title = lazy("Too many requests; try again later.")


class ServiceUnavailable(Problem):
    status = 503
    code = "service-unavailable"
    title = lazy("The service is busy; try again shortly.")


def field_error(field: str, message: LazyText) -> dict[str, Any]:
    return {"field": field, "message": message}


def invalid(field: str, message: LazyText) -> InvalidInput:
    return InvalidInput(errors=[field_error(field, message)])


# --- validation messages ------------------------------------------------------------
# pydantic error types → translatable messages; custom validators raise
# PydanticCustomError("booking", "<message id>") and are translated by their message id.
_PYDANTIC_MESSAGES: dict[str, str] = {
    "missing": N_("This field is required."),
    "string_type": N_("Must be text."),
    "string_too_short": N_("Must be at least {min_length} characters."),
    "string_too_long": N_("Must be at most {max_length} characters."),
    "string_pattern_mismatch": N_("Has the wrong format."),
    "int_type": N_("Must be a whole number."),
    "int_parsing": N_("Must be a whole number."),
    "int_from_float": N_("Must be a whole number."),
    "float_type": N_("Must be a number."),
    "float_parsing": N_("Must be a number."),
    "decimal_parsing": N_("Must be a number."),
    "bool_type": N_("Must be true or false."),
    "bool_parsing": N_("Must be true or false."),
    "greater_than": N_("Must be greater than {gt}."),
    "greater_than_equal": N_("Must be at least {ge}."),
    "less_than": N_("Must be less than {lt}."),
    "less_than_equal": N_("Must be at most {le}."),
    "too_short": N_("Must have at least {min_length} items."),
    "too_long": N_("Must have at most {max_length} items."),
    "literal_error": N_("Must be one of: {expected}."),
    "enum": N_("Must be one of: {expected}."),
    "date_type": N_("Must be a date (YYYY-MM-DD)."),
    "date_parsing": N_("Must be a date (YYYY-MM-DD)."),
    "date_from_datetime_parsing": N_("Must be a date (YYYY-MM-DD)."),
    "datetime_type": N_("Must be a date and time with an offset."),
    "datetime_parsing": N_("Must be a date and time with an offset."),
    "datetime_from_date_parsing": N_("Must be a date and time with an offset."),
    "timezone_aware": N_("Must include a timezone offset."),
    "time_type": N_("Must be a time (HH:MM)."),
    "time_parsing": N_("Must be a time (HH:MM)."),
    "uuid_type": N_("Must be a UUID."),
    "uuid_parsing": N_("Must be a UUID."),
    "json_invalid": N_("The body is not valid JSON."),
    "dict_type": N_("Must be an object."),
    "list_type": N_("Must be a list."),
    "model_type": N_("Must be an object."),
    "model_attributes_type": N_("Must be an object."),
    "extra_forbidden": N_("Unknown field."),
    "value_error": N_("Has an invalid value."),
    "assertion_error": N_("Has an invalid value."),
    "url_parsing": N_("Must be a URL."),
}


def _message_for(error: dict[str, Any]) -> LazyText:
    kind = error.get("type", "value_error")
    ctx = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, (str, int, float))}
    if kind == "booking":  # our own validators: the message template is the message id
        return LazyText(error.get("msg_template") or error.get("msg", ""), tuple(ctx.items()))
    template = _PYDANTIC_MESSAGES.get(kind, "Has an invalid value.")
    try:
        template.format(**ctx)
    except (KeyError, IndexError):
        return lazy("Has an invalid value.")
    return LazyText(template, tuple(ctx.items()))


_MSGSPEC_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Expected `(?:int|float)` <= (?P<le>[-\d.]+)"), "less_than_equal"),
    (re.compile(r"Expected `(?:int|float)` >= (?P<ge>[-\d.]+)"), "greater_than_equal"),
    (re.compile(r"Expected `(?:int|float)` < (?P<lt>[-\d.]+)"), "less_than"),
    (re.compile(r"Expected `(?:int|float)` > (?P<gt>[-\d.]+)"), "greater_than"),
    (re.compile(r"Expected `int`"), "int_type"),
    (re.compile(r"Expected `(?:float|number)`"), "float_type"),
    (re.compile(r"Expected `bool`"), "bool_type"),
    (re.compile(r"Expected `str` matching regex"), "string_pattern_mismatch"),
    (re.compile(r"Expected `str` of length <= (?P<max_length>\d+)"), "string_too_long"),
    (re.compile(r"Expected `str` of length >= (?P<min_length>\d+)"), "string_too_short"),
    (re.compile(r"Invalid enum value"), "enum_value"),
    (re.compile(r"Invalid (?:RFC 3339 encoded )?date"), "date_parsing"),
    (re.compile(r"Invalid (?:RFC 3339 encoded )?datetime"), "datetime_parsing"),
    (re.compile(r"Invalid (?:RFC 3339 encoded )?time"), "time_parsing"),
    (re.compile(r"Invalid UUID"), "uuid_parsing"),
    (re.compile(r"Missing required"), "missing"),
]


def _msgspec_message(message: str) -> LazyText:
    """Query, path and header parameters are validated by msgspec, whose messages are
    English prose; map the common ones to the same translatable messages."""
    for pattern, kind in _MSGSPEC_PATTERNS:
        match = pattern.search(message)
        if match:
            if kind == "enum_value":
                return lazy("Is not one of the allowed values.")
            return _message_for({"type": kind, "ctx": match.groupdict()})
    return lazy("Has an invalid value.")


def _field_name(loc: Any, source: str | None) -> str:
    parts = [str(p) for p in (loc if isinstance(loc, (list, tuple)) else [loc])]
    if parts and parts[0] == "data":
        parts = parts[1:]
    return ".".join(parts) if parts else (source or "body")


def pydantic_field_errors(errors: list[Any]) -> list[dict[str, Any]]:
    """Field errors, with translatable messages, from pydantic's ``errors()`` (the API's
    bodies, and the pages' forms, which are read with the same schemas)."""
    return [field_error(_field_name(err.get("loc", ()), "body"), _message_for(err)) for err in errors]


def validation_errors(exc: ValidationException) -> list[dict[str, Any]]:
    """Field errors from a Litestar validation failure, with translatable messages."""
    cause = exc.__cause__
    detailed = getattr(cause, "errors", None)
    out: list[dict[str, Any]] = []
    if isinstance(detailed, list) and detailed and isinstance(detailed[0], dict) and "type" in detailed[0]:
        return pydantic_field_errors(detailed)
    for item in exc.extra if isinstance(exc.extra, list) else []:
        key = item.get("key") or item.get("source") or "body"
        out.append(field_error(str(key), _msgspec_message(str(item.get("message", "")))))
    if not out:
        out.append(field_error("body", lazy("The body is not valid JSON.")))
    return out


# --- handlers -------------------------------------------------------------------------


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


class MalformedBody(Problem):
    status = 400
    code = "malformed-body"
    title = lazy("The body is not valid JSON.")


class MethodNotAllowed(Problem):
    status = 405
    code = "method-not-allowed"
    title = lazy("This method is not allowed here.")


class PayloadTooLarge(Problem):
    status = 413
    code = "payload-too-large"
    title = lazy("The request body is too large.")


class UnsupportedMediaType(Problem):
    status = 415
    code = "unsupported-media-type"
    title = lazy("This media type is not supported.")


class InternalError(Problem):
    status = 500
    code = "internal-error"
    title = lazy("Something went wrong on our side.")


_STATUS_PROBLEMS: dict[int, type[Problem]] = {
    400: Problem,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    429: TooManyRequests,
    503: ServiceUnavailable,
}


def problem_for_status(status: int) -> Problem:
    cls = _STATUS_PROBLEMS.get(status)
    if cls is not None:
        return cls()
    if 400 <= status < 500:
        return Problem()
    return InternalError()


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


_UNAVAILABLE = (
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    # a pooled connection the server closed while it sat idle (a restart) fails its next
    # statement with this: the connection is dropped, a retry gets a new one
    asyncpg.InternalClientError,
    ConnectionError,
    TimeoutError,
)


def database_unavailable(exc: BaseException) -> bool:
    """The database is out of connections, restarting or unreachable: the client should
    retry shortly (503), this is not a bug of ours (500)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _UNAVAILABLE) or (isinstance(current, DBAPIError) and current.connection_invalidated):
            return True
        current = getattr(current, "orig", None) or current.__cause__
    return False


def _sqlstate(exc: BaseException) -> str:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(state, str):
            return state
        current = getattr(current, "orig", None) or current.__cause__
    return ""


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if database_unavailable(exc):
        return _on_db_unavailable(request, exc)
    state = _sqlstate(exc)
    if state.startswith("22") or isinstance(exc, OverflowError):
        # A number or date beyond what the database (or the calendar) holds, e.g. an id
        # of 2**63 or the year 9999 plus a day: the caller's input, not our bug.
        logger.info("out-of-range input on %s %s", request.method, request.url.path)
        return problem_response(request, InvalidInput(lazy("A value in the request is out of range.")))
    if state in ("40001", "40P01", "55P03"):
        # a serialization failure, a deadlock or a lock_timeout (another transaction held
        # the row too long, ``booking.db.locking``): nothing was written, a retry will do
        logger.warning("transaction conflict on %s %s: %s", request.method, request.url.path, state)
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

__all__ = [
    "PROBLEM_CODE_STATE",
    "PROBLEM_JSON",
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "MediaType",
    "NotFound",
    "Problem",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "exception_handlers",
    "field_error",
    "invalid",
    "problem_response",
    "pydantic_field_errors",
]
