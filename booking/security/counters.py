"""Shared counters for rate limits and login throttling: in Redis when it is configured (so
every API replica counts together), in this process otherwise.

Redis is an aid here, not a dependency: when it does not answer (down, or slower than
``REDIS_BUDGET``), the counters fall back to this process for ``FALLBACK_SECONDS`` and the
request goes on; a booking never fails because Redis did. Keys carry no personal data:
callers pass keyed hashes of addresses and e-mails.

Every limited request counts (``incr``), so in a release rush the counting is on the hot
path of each of thousands of requests. The counts asked for in one turn of the event loop
go to Redis together, as one script call: one round trip and one command to encode and
parse for the whole turn, not four commands per request (``IncrBatcher``).
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
BATCH_MAX_KEYS = 512  # keys per script call; a larger turn is sent as several calls

# INCR each key, and give a new key its TTL (the window), atomically: ARGV[i] is KEYS[i]'s TTL
_INCR_SCRIPT = """
local counts = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, ARGV[i]) end
  counts[i] = n
end
return counts
"""


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


class IncrBatcher:
    """Gathers the ``incr`` calls of one turn of the event loop into one Redis script call.

    The first call of a turn schedules the send with ``call_soon``, which runs after the
    callbacks already ready: the other requests read in the same turn add their keys first.
    Each caller gets its own counts, or ``None`` when Redis failed (it then counts locally).
    A caller cancelled while waiting has still been counted, as with a command already sent.
    """

    def __init__(self, redis: Callable[[], Any], fell_back: Callable[[BaseException], None]) -> None:
        self._redis_of = redis
        self._fell_back = fell_back
        self._pending: list[tuple[list[tuple[str, int]], asyncio.Future[list[int] | None]]] = []
        self._sending: set[asyncio.Task[None]] = set()  # held: a bare task may be collected
        self._script: tuple[Any, Any] | None = None  # (client, its registered script)

    async def incr(self, keys: list[tuple[str, int]]) -> list[int] | None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[list[int] | None] = loop.create_future()
        self._pending.append((keys, waiter))
        if len(self._pending) == 1:
            loop.call_soon(self._send_turn)
        return await waiter

    def _send_turn(self) -> None:
        pending, self._pending = self._pending, []
        batch: list[tuple[list[tuple[str, int]], asyncio.Future[list[int] | None]]] = []
        size = 0
        for item in pending:
            if batch and size + len(item[0]) > BATCH_MAX_KEYS:
                self._start(batch)
                batch, size = [], 0
            batch.append(item)
            size += len(item[0])
        if batch:
            self._start(batch)

    def _start(self, batch: list[tuple[list[tuple[str, int]], asyncio.Future[list[int] | None]]]) -> None:
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)
        # every caller gets an answer, also when the send is cancelled before it ran (a
        # stopping process): whoever has none yet counts in the process
        task.add_done_callback(lambda _: self._answer(batch, None))

    def _script_of(self, redis: Any) -> Any:
        if self._script is None or self._script[0] is not redis:
            self._script = (redis, redis.register_script(_INCR_SCRIPT))
        return self._script[1]

    async def _send(self, batch: list[tuple[list[tuple[str, int]], asyncio.Future[list[int] | None]]]) -> None:
        keys = [PREFIX + key for wanted, _ in batch for key, _ in wanted]
        ttls = [ttl for wanted, _ in batch for _, ttl in wanted]
        try:
            async with asyncio.timeout(REDIS_BUDGET):
                counts = [int(c) for c in await self._script_of(self._redis_of())(keys=keys, args=ttls)]
        except Exception as exc:  # noqa: BLE001 - any Redis failure: the callers count here instead
            self._fell_back(exc)
            return
        self._answer(batch, counts)

    @staticmethod
    def _answer(batch: list[tuple[list[tuple[str, int]], asyncio.Future[list[int] | None]]],
                counts: list[int] | None) -> None:
        start = 0
        for wanted, waiter in batch:
            if not waiter.done():
                waiter.set_result(None if counts is None else counts[start:start + len(wanted)])
            start += len(wanted)


class Counters:
    """Fixed-window counters and short-lived values, Redis first, this process as fallback."""

    def __init__(self, redis: Callable[[], Any | None]) -> None:
        self._redis_of = redis  # read when used: the API connects to Redis after start-up
        self.local = LocalCounters()
        self._redis_down_until = 0.0
        self._batcher = IncrBatcher(redis, self._fell_back)

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
        """Add one to each key (created with its TTL in seconds); the new counts. One round
        trip, shared with the other requests counted in the same turn of the event loop."""
        if self._use_redis():
            counts = await self._batcher.incr(keys)
            if counts is not None:
                return counts
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
