"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from sqlalchemy import text

from booking.runtime import Runtime
from booking.worker import live_workers


class OpsController(Controller):
    tags = ["operations"]

    @get("/health", exclude_from_auth=True, summary="Liveness: the process answers")
    async def health(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", exclude_from_auth=True, summary="Readiness: the database (and Redis, when configured) answer")
    async def ready(self, runtime: NamedDependency[Runtime]) -> Response[dict[str, Any]]:
        checks: dict[str, Any] = {}
        ok = True
        try:
            async with runtime.db.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks["database"] = f"error: {type(exc).__name__}"
            ok = False
        if runtime.settings.redis_url:
            try:
                await runtime.redis.ping()  # type: ignore[union-attr]
                checks["redis"] = "ok"
                # reported, not required: the API serves without a worker, mail waits in the outbox
                workers = await live_workers(runtime.redis)
                checks["workers"] = workers
                checks["worker_heartbeat"] = "ok" if workers else "missing"
            except Exception as exc:  # noqa: BLE001
                checks["redis"] = f"error: {type(exc).__name__}"
                ok = False
        for name, probe in runtime.extras.get("readiness_probes", {}).items():
            checks[name] = await probe()
        return Response({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)
