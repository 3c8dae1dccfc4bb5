"""Worker heartbeats (booking.background.heartbeat) against a Redis of the test's own: who
counts as alive, and reading them costs the same whatever else Redis holds (no SCAN)."""

from __future__ import annotations

import time

import pytest
import redis
import redis.asyncio as aioredis

from booking.background.heartbeat import (
    HEARTBEAT_TTL_SECONDS,
    HEARTBEATS_KEY,
    LEGACY_PREFIX,
    alive_on_host,
    farewell,
    heartbeat,
    live_workers,
    worker_name,
)
from booking.ops.probe import worker_alive
from tests.servers import OwnRedis


def _calls(client: redis.Redis, command: str) -> int:
    return int(client.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))


async def _redis_now(client: aioredis.Redis) -> float:
    seconds, micros = await client.time()
    return seconds + micros / 1e6


async def test_live_workers_are_those_that_beat_in_the_last_minute(own_redis: OwnRedis,
                                                                  monkeypatch: pytest.MonkeyPatch):
    real_time = time.time
    client = aioredis.Redis.from_url(own_redis.url)
    try:
        assert await live_workers(client) == 0
        await heartbeat({"redis": client})  # this process, as a worker
        # a host clock two minutes off changes nothing: the times are Redis's
        monkeypatch.setattr(time, "time", lambda: real_time() + 120)
        assert await live_workers(client) == 1
        await heartbeat({"redis": client})
        assert await live_workers(client) == 1
        monkeypatch.setattr(time, "time", real_time)
        now = await _redis_now(client)  # times are Redis's own, whatever the hosts' clocks say
        await client.zadd(HEARTBEATS_KEY, {"other-pod:7": now - 10, "dead-pod:9": now - HEARTBEAT_TTL_SECONDS - 5})
        assert await live_workers(client) == 2
        await heartbeat({"redis": client})  # a beat also clears the dead worker's entry
        assert set(await client.zrange(HEARTBEATS_KEY, 0, -1)) == {worker_name().encode(), b"other-pod:7"}
        await client.zadd(HEARTBEATS_KEY, {"other-pod:7": now - HEARTBEAT_TTL_SECONDS - 1})
        assert await live_workers(client) == 1  # stale for the reader, before any beat clears it
        # the previous release's API counts per-worker keys: still set during a rollout
        assert await client.ttl(LEGACY_PREFIX + worker_name()) > 0
        await farewell(client)  # stopping gracefully: not counted from now on
        assert await live_workers(client) == 0
        assert not await client.exists(LEGACY_PREFIX + worker_name())
    finally:
        await client.aclose()


async def test_reading_them_costs_the_same_whatever_redis_holds(own_redis: OwnRedis):
    sync = redis.Redis.from_url(own_redis.url)
    client = aioredis.Redis.from_url(own_redis.url)
    try:
        # rate-limit counters, job results: what a registry's Redis holds at 08:30
        with sync.pipeline(transaction=False) as pipe:
            for i in range(20_000):
                pipe.set(f"booking:rl:booking:{i}", 1, ex=600)
            pipe.execute()
        await heartbeat({"redis": client})
        scans, commands = _calls(sync, "scan"), sum(_calls(sync, c) for c in ("zcount", "zrangebyscore"))
        assert await live_workers(client) == 1
        assert alive_on_host(sync, worker_name().rsplit(":", 1)[0])
        assert worker_alive(own_redis.url)  # the container probe
        assert _calls(sync, "scan") == scans  # no walk of the keyspace
        assert sum(_calls(sync, c) for c in ("zcount", "zrangebyscore")) == commands + 3  # one command each
    finally:
        await client.aclose()
        sync.close()


def test_the_probe_finds_its_own_host_only(own_redis: OwnRedis):
    sync = redis.Redis.from_url(own_redis.url)
    try:
        seconds, micros = sync.time()
        now = seconds + micros / 1e6
        sync.zadd(HEARTBEATS_KEY, {"worker-a:1": now, "worker-ab:2": now - HEARTBEAT_TTL_SECONDS - 1})
        assert alive_on_host(sync, "worker-a")
        assert not alive_on_host(sync, "worker-ab")  # stale
        assert not alive_on_host(sync, "worker")  # a prefix of another host's name is not that host
        assert worker_alive(own_redis.url, host="worker-a") and not worker_alive(own_redis.url, host="worker-b")
    finally:
        sync.close()
