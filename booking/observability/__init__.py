"""What operators watch: Prometheus metrics and OpenTelemetry traces.

- ``metrics``: every metric, and the helpers other code calls (``count_rate_limit_refusal``,
  ``count_delivery``).
- ``outcomes``: booking and sign-up outcomes in a fixed vocabulary; ``booking_answer``.
- ``http``: the request middleware and ``GET /metrics`` of the API; ``exposition``: the
  text, summed over processes in multi-process mode; ``snapshot``: figures read at scrape
  time (outbox, seats left, workers); ``pools``: database pool use.
- ``worker``: job timing and the worker's own endpoint; ``tracing``: spans, off by default.

deploy/prometheus and deploy/grafana hold the scrape config, the alerts and the dashboard.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

logger = logging.getLogger("booking.metrics")


def api_observability(runtime: Any) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """The API's lifespan part: keeps this process's pool figures current."""

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        from booking.observability.pools import pool_sampler

        settings = runtime.settings
        if settings.env == "production" and not settings.metrics_token:
            logger.warning("BOOKING_METRICS_TOKEN is not set: /metrics is off (404) in production")
        async with pool_sampler(runtime.db):
            yield

    return lifespan
