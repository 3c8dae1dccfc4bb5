"""The domain's problems: what a service refuses, as a status, a stable code and a title in
the caller's language (``application/problem+json``, RFC 9457, with a stable ``type``:
``urn:booking:problem:<code>``). Services raise them; the web's handlers
(``booking.http.problems``) answer with them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from booking.i18n import LazyText, lazy


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
