"""Liveness and readiness for load balancers and orchestrators.

``/ready`` is 503 only when the database does not answer. Without Redis the API still books
(the outbox is in PostgreSQL; rate limits count in-process meanwhile), so a Redis failure
is reported as ``degraded`` with 200: a load balancer keeps the replica in service."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import text

from booking.background.heartbeat import live_workers
from booking.context import Context


class Health(msgspec.Struct, frozen=True):
    status: str = "ok"


class Readiness(msgspec.Struct, frozen=True):
    status: str = msgspec.field(default="ok")
    """ok, degraded (Redis does not answer: still serving) or unavailable (no database)"""
    checks: dict[str, Any] = msgspec.field(default_factory=dict)
    """database, redis, workers, worker_heartbeat, and the configured probes"""


_HEALTHY = Health()


class OpsController(Controller):
    tags = ["operations"]

    @get("/health", exclude_from_auth=True, summary="Liveness: the process answers")
    async def health(self) -> Health:
        return _HEALTHY

    @get("/ready", exclude_from_auth=True, summary="Readiness: the database (and Redis, when configured) answer",
         responses={503: ResponseSpec(Readiness, generate_examples=False,
                                      description="The database does not answer: `checks` says what failed")})
    async def ready(self, ctx: NamedDependency[Context]) -> Response[Readiness]:
        checks: dict[str, Any] = {}
        ok, degraded = True, False
        try:
            async with ctx.rt.db.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks["database"] = f"error: {type(exc).__name__}"
            ok = False
        if ctx.rt.settings.redis_url:
            try:
                async with asyncio.timeout(2):
                    await ctx.rt.redis.ping()  # type: ignore[union-attr]
                    checks["redis"] = "ok"
                    # reported, not required: the API serves without a worker, mail waits in the outbox
                    workers = await live_workers(ctx.rt.redis)
                checks["workers"] = workers
                checks["worker_heartbeat"] = "ok" if workers else "missing"
            except Exception as exc:  # noqa: BLE001
                checks["redis"] = f"error: {type(exc).__name__}"
                degraded = True
        status = "unavailable" if not ok else "degraded" if degraded else "ok"
        return Response(Readiness(status=status, checks=checks), status_code=200 if ok else 503)
