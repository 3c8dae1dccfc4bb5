"""The API side: the middleware that counts and times every request (and opens its server
span when tracing is on), and ``GET /metrics``.

``/metrics`` is for the operator's Prometheus, not for the public: with
``BOOKING_METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer <token>``;
without one it is open in development and answers 404 in production. It is left out of
the OpenAPI document (the README and deploy/ describe it).
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from booking.errors import NotFound, Unauthorized
from booking.logs import log_request
from booking.observability import tracing
from booking.observability.exposition import exposition
from booking.observability.metrics import (
    RATE_LIMIT_REFUSALS,
    UNMATCHED_ROUTE,
    count_outcome,
    method_label,
    observe_request,
)
from booking.observability.outcomes import OUTCOME_ROUTES, RATE_LIMIT_STATE, outcome_of
from booking.settings import Settings

logger = logging.getLogger("booking.metrics")


def _count_answer(scope: Scope, route: str, method: str, status: int, seconds: float | None) -> None:
    observe_request(route, method, status, seconds)
    state = scope.get("state") or {}
    kind = OUTCOME_ROUTES.get((method, route))
    if kind is not None:
        count_outcome(kind, outcome_of(status, state))
    if status == 429:
        RATE_LIMIT_REFUSALS.labels(state.get(RATE_LIMIT_STATE, "unnamed"), route).inc()


def metrics_middleware(app: ASGIApp) -> ASGIApp:
    """Runs for every request that matched a route (Litestar routes before middleware), so
    ``path_template`` is known; the rest are counted by ``count_unmatched``. It also writes
    the request's access line (``booking.logs.log_request``)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        route = scope.get("path_template") or UNMATCHED_ROUTE
        method = method_label(scope.get("method"))
        answered = {"status": 500}
        # in flight, for the in-process background work that yields to requests
        load = scope["app"].state.runtime.request_load
        load.in_flight += 1

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
            await send(message)

        tracer = tracing.active_tracer()
        try:
            if tracer is None:
                await app(scope, receive, _send)
            else:
                await _traced(app, tracer, scope, receive, _send, route, method, answered)
        finally:
            load.in_flight -= 1
            elapsed = time.perf_counter() - started
            log_request(scope, answered["status"], elapsed)
            _count_answer(scope, route, method, answered["status"], elapsed)

    return middleware


async def _traced(app: ASGIApp, tracer: Any, scope: Scope, receive: Receive, send: Send, route: str, method: str,
                  answered: dict[str, int]) -> None:
    from opentelemetry import propagate
    from opentelemetry.trace import SpanKind, Status, StatusCode

    carrier = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope.get("headers", ())}
    with tracer.start_as_current_span(
            f"{method} {route}", context=propagate.extract(carrier), kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": route},
            record_exception=False, set_status_on_exception=False) as current:
        try:
            await app(scope, receive, send)
        except BaseException as exc:
            tracing.mark_failure(current, exc)
            raise
        finally:
            current.set_attribute("http.response.status_code", answered["status"])
            if answered["status"] >= 500:
                current.set_status(Status(StatusCode.ERROR))


async def count_unmatched(message: Message, scope: Scope) -> None:
    """``before_send`` hook: an answer to a request no route matched (404, 405) is counted
    under one route value, whatever its path was."""
    if message["type"] == "http.response.start" and "route_handler" not in scope and scope["type"] == "http":
        _count_answer(scope, UNMATCHED_ROUTE, method_label(scope.get("method")), message["status"], None)


def may_scrape(settings: Settings, authorization: str | None) -> bool:
    """True when the caller may read the metrics; raises NotFound when they are off."""
    token = settings.metrics_token
    if not token:
        if settings.env == "production":
            raise NotFound()
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


class MetricsController(Controller):
    @get("/metrics", exclude_from_auth=True, include_in_schema=False)
    async def metrics(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        runtime = request.app.state.runtime
        if not may_scrape(runtime.settings, request.headers.get("authorization")):
            raise Unauthorized(headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        body, content_type = await exposition(runtime)
        return Response(body, media_type=content_type)
