"""The worker side: each job timed (queue latency, duration, result) and the worker's own
small ``/metrics`` endpoint (``BOOKING_WORKER_METRICS_HOST``/``_PORT``, same token rule as
the API's).

The worker is one process and reports only its own figures: ``booking worker`` ignores
``PROMETHEUS_MULTIPROC_DIR``, so it never adds itself to the API processes' sums.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from booking.errors import NotFound
from booking.observability.exposition import collect_text
from booking.observability.http import may_scrape
from booking.observability.metrics import JOB_QUEUE_SECONDS, JOB_SECONDS, JOBS
from booking.observability.pools import pool_sampler
from booking.observability.tracing import span
from booking.settings import Settings

logger = logging.getLogger("booking.metrics")

Job = Callable[..., Awaitable[Any]]
MAX_REQUEST_HEAD = 8192


def timed(job: Job) -> Job:
    """The job, measured: from when it was due (enqueued, or the deferred time it was
    scheduled for) to its start, and its run. The name stays the job's own, since jobs are
    enqueued by name."""
    name = job.__name__
    queue_latency, duration = JOB_QUEUE_SECONDS.labels(name), JOB_SECONDS.labels(name)

    @functools.wraps(job)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        started = time.time()
        due = _due_at(ctx)
        if due is not None:
            queue_latency.observe(max(0.0, started - due))
        result = "error"
        try:
            with span(f"job {name}"):
                value = await job(ctx, *args, **kwargs)
            result = "ok"
            return value
        finally:
            duration.observe(time.time() - started)
            JOBS.labels(name, result).inc()

    return run


def _due_at(ctx: dict[str, Any]) -> float | None:
    enqueued: datetime | None = ctx.get("enqueue_time")
    score = ctx.get("score")  # arq: when the job became runnable, in ms
    moments = [m for m in (enqueued.timestamp() if enqueued else None, score / 1000 if score else None) if m]
    return max(moments) if moments else None


async def _answer(settings: Settings, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
        writer.close()
        return
    lines = head.decode("latin-1").split("\r\n")
    method, _, rest = lines[0].partition(" ")
    path = rest.split(" ", 1)[0].split("?", 1)[0]
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    status, content_type, body = "404 Not Found", "text/plain; charset=utf-8", b"not found\n"
    if method in ("GET", "HEAD") and path == "/metrics":
        try:
            allowed = may_scrape(settings, headers.get("authorization"))
        except NotFound:
            allowed = None
        if allowed:
            status, content_type, body = "200 OK", CONTENT_TYPE_LATEST, collect_text()
        elif allowed is False:
            status, body = "401 Unauthorized", b"unauthorized\n"
    writer.write((f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                  "Connection: close\r\n\r\n").encode() + (body if method != "HEAD" else b""))
    with contextlib.suppress(ConnectionError):
        await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def worker_observability(settings: Settings, db: Any) -> AsyncIterator[asyncio.Server | None]:
    """The worker's /metrics endpoint and pool sampling, while the worker runs. A port
    already taken is logged and the worker goes on without the endpoint."""
    server = None
    if settings.worker_metrics_port:
        try:
            server = await asyncio.start_server(functools.partial(_answer, settings), settings.worker_metrics_host,
                                                settings.worker_metrics_port, limit=MAX_REQUEST_HEAD)
        except OSError as exc:
            logger.error("worker metrics endpoint not started on %s:%s: %s", settings.worker_metrics_host,
                         settings.worker_metrics_port, exc.strerror)
    async with pool_sampler(db):
        try:
            yield server
        finally:
            if server is not None:
                server.close()
                await server.wait_closed()
