"""Worker heartbeats in Redis: one sorted set, ``booking:worker:heartbeats``, holding each
worker process (``<host>:<pid>``) scored by the time of its last beat (every 15 s); a beat
older than 60 s is a dead worker's. ``/ready``, the metrics snapshot and the container probe
read it. Plain Redis calls: the API reads them without importing the worker (arq).

One key, read by score, because the readers run often (every readiness probe and scrape):
a key per worker found by pattern meant a SCAN of the whole keyspace each time, which holds
every rate-limit counter and job result (measured: 160 ms per read with a bench's 50,000
keys; /ready's 2 s budget would go at ~600,000). The scores are the workers' clocks,
read against the reader's: hosts kept within seconds of each other (NTP) are assumed.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

HEARTBEATS_KEY = "booking:worker:heartbeats"
HEARTBEAT_TTL_SECONDS = 60


def worker_name(host: str | None = None, pid: int | None = None) -> str:
    """This worker process, as the set names it (a probe finds its container's by host)."""
    return f"{host or socket.gethostname()}:{pid or os.getpid()}"


async def heartbeat(ctx: dict[str, Any]) -> None:
    now = time.time()
    async with ctx["redis"].pipeline(transaction=False) as pipe:
        pipe.zadd(HEARTBEATS_KEY, {worker_name(): now})
        # a worker killed hard never says goodbye: its entry goes once it is stale
        pipe.zremrangebyscore(HEARTBEATS_KEY, "-inf", now - HEARTBEAT_TTL_SECONDS)
        await pipe.execute()


async def farewell(redis: Any) -> None:
    """A worker stopping gracefully: /ready stops counting it now."""
    await redis.zrem(HEARTBEATS_KEY, worker_name())


async def live_workers(redis: Any, now: float | None = None) -> int:
    now = time.time() if now is None else now
    return int(await redis.zcount(HEARTBEATS_KEY, now - HEARTBEAT_TTL_SECONDS, "+inf"))


def alive_on_host(redis: Any, host: str, now: float | None = None) -> bool:
    """A worker on ``host`` beat in the last minute (a synchronous client: the probe's)."""
    now = time.time() if now is None else now
    members = redis.zrangebyscore(HEARTBEATS_KEY, now - HEARTBEAT_TTL_SECONDS, "+inf")
    return any((m.decode() if isinstance(m, bytes) else m).rsplit(":", 1)[0] == host for m in members)
