"""Shared counters for rate limits and login throttling: in Redis when it is configured (so
every API replica counts together), in this process otherwise.

Redis is an aid here, not a dependency: when it does not answer (down, or slower than
``REDIS_BUDGET``), the counters fall back to this process for ``FALLBACK_SECONDS`` and the
request goes on; a booking never fails because Redis did. Keys carry no personal data:
callers pass keyed hashes of addresses and e-mails.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("booking.security")

PREFIX = "booking:rl:"
REDIS_BUDGET = 0.25  # seconds one counter round trip may take before it is given up
FALLBACK_SECONDS = 5.0
LOCAL_MAX_KEYS = 100_000


class LocalCounters:
    """The in-process store: values with an expiry, swept when it grows large."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[float, Any]] = {}

    def _live(self, key: str, now: float) -> Any:
        found = self._values.get(key)
        if found is None or found[0] <= now:
            return None
        return found[1]

    def _room(self, now: float) -> None:
        if len(self._values) >= LOCAL_MAX_KEYS:
            self._values = {k: v for k, v in self._values.items() if v[0] > now}
            if len(self._values) >= LOCAL_MAX_KEYS:
                self._values.clear()

    async def incr(self, keys: list[tuple[str, int]]) -> list[int]:
        now = time.monotonic()
        self._room(now)
        counts = []
        for key, ttl in keys:
            found = self._values.get(key)
            if found is None or found[0] <= now:
                found = (now + ttl, 0)
            self._values[key] = (found[0], found[1] + 1)
            counts.append(found[1] + 1)
        return counts

    async def get(self, keys: list[str]) -> list[Any]:
        now = time.monotonic()
        return [self._live(k, now) for k in keys]

    async def put(self, items: list[tuple[str, str, float]]) -> None:
        now = time.monotonic()
        self._room(now)
        for key, value, ttl in items:
            self._values[key] = (now + ttl, value)

    async def delete(self, keys: list[str]) -> None:
        for key in keys:
            self._values.pop(key, None)


class Counters:
    """Fixed-window counters and short-lived values, Redis first, this process as fallback."""

    def __init__(self, redis: Callable[[], Any | None]) -> None:
        self._redis_of = redis  # read when used: the API connects to Redis after start-up
        self.local = LocalCounters()
        self._redis_down_until = 0.0

    @property
    def redis(self) -> Any | None:
        return self._redis_of()

    def _use_redis(self) -> bool:
        return self.redis is not None and time.monotonic() >= self._redis_down_until

    def _fell_back(self, exc: BaseException) -> None:
        if self._redis_down_until < time.monotonic():
            logger.warning("rate limit counters in-process for a while: redis %s", type(exc).__name__)
        self._redis_down_until = time.monotonic() + FALLBACK_SECONDS

    async def _redis(self, build: Any) -> list[Any] | None:
        try:
            async with asyncio.timeout(REDIS_BUDGET):
                pipe = self.redis.pipeline(transaction=False)  # type: ignore[union-attr]
                build(pipe)
                return list(await pipe.execute())
        except Exception as exc:  # noqa: BLE001 - any Redis failure: count here instead
            self._fell_back(exc)
            return None

    async def incr(self, keys: list[tuple[str, int]]) -> list[int]:
        """Add one to each key (created with its TTL in seconds); the new counts. One round trip."""
        if self._use_redis():
            def build(pipe: Any) -> None:
                for key, ttl in keys:
                    pipe.incr(PREFIX + key)
                    pipe.expire(PREFIX + key, ttl, nx=True)

            done = await self._redis(build)
            if done is not None:
                return [int(v) for v in done[::2]]
        return await self.local.incr(keys)

    async def get(self, keys: list[str]) -> list[Any]:
        if self._use_redis():
            done = await self._redis(lambda pipe: pipe.mget([PREFIX + k for k in keys]))
            if done is not None:
                return [v.decode() if isinstance(v, bytes) else v for v in done[0]]
        return await self.local.get(keys)

    async def put(self, items: list[tuple[str, str, float]]) -> None:
        if self._use_redis():
            def build(pipe: Any) -> None:
                for key, value, ttl in items:
                    pipe.set(PREFIX + key, value, px=max(1, int(ttl * 1000)))

            if await self._redis(build) is not None:
                return
        await self.local.put(items)

    async def delete(self, keys: list[str]) -> None:
        if self._use_redis():
            if await self._redis(lambda pipe: pipe.delete(*[PREFIX + k for k in keys])) is not None:
                return
        await self.local.delete(keys)
