"""Worker heartbeats in Redis: one sorted set, ``booking:worker:heartbeats``, holding each
worker process (``<host>:<pid>``) scored by the time of its last beat (every 15 s); a beat
older than 60 s is a dead worker's. ``/ready``, the metrics snapshot and the container probe
read it. Plain Redis calls: the API reads them without importing the worker (arq).

One key, read by score, because the readers run often (every readiness probe and scrape):
a key per worker found by pattern meant a SCAN of the whole keyspace each time, which holds
every rate-limit counter and job result (measured: 160 ms per read with a bench's 50,000
keys; /ready's 2 s budget would go at ~600,000). Every time is Redis's own (``TIME`` inside a
script), as the old keys' expiry was: a host whose clock is off cannot make its neighbours
look dead. Each beat also still sets the old per-worker key, which API processes of the
previous release count during a rollout; drop it in the release after this one.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

HEARTBEATS_KEY = "booking:worker:heartbeats"
HEARTBEAT_TTL_SECONDS = 60
LEGACY_PREFIX = "booking:worker:heartbeat:"  # the previous release's key per worker

_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1000000 "
_BEAT = _NOW + """
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
return 1"""
_LIVE = _NOW + "return redis.call('ZCOUNT', KEYS[1], now - tonumber(ARGV[1]), '+inf')"
_LIVE_MEMBERS = _NOW + "return redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf')"


def worker_name(host: str | None = None, pid: int | None = None) -> str:
    """This worker process, as the set names it (a probe finds its container's by host)."""
    return f"{host or socket.gethostname()}:{pid or os.getpid()}"


async def heartbeat(ctx: dict[str, Any]) -> None:
    # a worker killed hard never says goodbye: its entry goes once it is stale
    name = worker_name()
    async with ctx["redis"].pipeline(transaction=False) as pipe:
        pipe.eval(_BEAT, 1, HEARTBEATS_KEY, name, HEARTBEAT_TTL_SECONDS)
        # apart from the script, which touches one key only (a cluster's slot rule)
        pipe.set(LEGACY_PREFIX + name, str(int(time.time())), ex=HEARTBEAT_TTL_SECONDS)
        await pipe.execute()


async def farewell(redis: Any) -> None:
    """A worker stopping gracefully: /ready stops counting it now."""
    name = worker_name()
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zrem(HEARTBEATS_KEY, name)
        pipe.delete(LEGACY_PREFIX + name)
        await pipe.execute()


async def live_workers(redis: Any) -> int:
    return int(await redis.eval(_LIVE, 1, HEARTBEATS_KEY, HEARTBEAT_TTL_SECONDS))


def alive_on_host(redis: Any, host: str) -> bool:
    """A worker on ``host`` beat in the last minute (a synchronous client: the probe's)."""
    members = redis.eval(_LIVE_MEMBERS, 1, HEARTBEATS_KEY, HEARTBEAT_TTL_SECONDS)
    return any((m.decode() if isinstance(m, bytes) else m).rsplit(":", 1)[0] == host for m in members)
