"""Worker heartbeats in Redis: each worker process sets its own key (60 s TTL, every 15 s);
``/ready``, the metrics snapshot and the container probe read them. Plain Redis calls: the
API reads them without importing the worker (arq)."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

HEARTBEAT_PREFIX = "booking:worker:heartbeat:"
HEARTBEAT_TTL_SECONDS = 60


def heartbeat_key() -> str:
    """One key per worker process (a probe can check its own; /ready counts them all)."""
    return f"{HEARTBEAT_PREFIX}{socket.gethostname()}:{os.getpid()}"


async def heartbeat(ctx: dict[str, Any]) -> None:
    await ctx["redis"].set(heartbeat_key(), str(int(time.time())), ex=HEARTBEAT_TTL_SECONDS)


async def live_workers(redis: Any) -> int:
    return len([key async for key in redis.scan_iter(match=f"{HEARTBEAT_PREFIX}*", count=100)])
