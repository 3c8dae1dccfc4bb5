"""One small per-process cache: entries live a fixed time, an edit in this process drops
them at once, and a full cache is emptied (its keys may come from public URLs, so unknown
ones must not pile up). Every per-process cache of the service is one of these.

A cache built with ``stale_seconds`` refreshes ahead of its callers: an entry that ran out
less than that long ago is still answered by ``get_or_load`` while one load replaces it in
the background. Without it, every request in flight when a hot entry (an office, the
policy periods) runs out waits for the reload, and under a rush that reload waits behind
all of them: measured at the release moment, the first wave's bookings all stalled ~20 ms
on one office's reload. Such an entry is at most ``ttl + stale`` seconds old, plus a load.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Final, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()  # what ``get`` answers for no live entry (None may be cached)

logger = logging.getLogger("booking.cache")


class TtlCache(Generic[K, V]):
    def __init__(self, ttl_seconds: float, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic, stale_seconds: float = 0.0) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self.stale_seconds = stale_seconds
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V]] = {}
        self._generation = 0  # raised by every forget: a load that began before it is not kept

    def get(self, key: K) -> V | _Missing:
        hit = self._entries.get(key)
        if hit is None or hit[0] <= self._clock():
            return MISSING
        return hit[1]

    def put(self, key: K, value: V, ttl_seconds: float | None = None) -> V:
        """Keep ``value`` for ``ttl_seconds`` (the cache's own by default); returns it."""
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (self._clock() + (self.ttl_seconds if ttl_seconds is None else ttl_seconds), value)
        return value

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V]],
                          ttl_of: Callable[[V], float | None] = lambda _value: None) -> V:
        """The live entry, else ``load()``'s value, kept for ``ttl_of(value)`` (None: the
        cache's own). One load per key at a time: concurrent callers for a key that is
        being loaded wait for that load (at a release, 64 requests for a slot not cached
        yet ask the database once, not 64 times)."""
        found = self._entries.get(key)
        if found is not None:
            now = self._clock()
            if found[0] > now:
                return found[1]
            if found[0] + self.stale_seconds > now:
                # ran out a moment ago: answered as it was while one load replaces it
                self._start_load(key, load, ttl_of)
                return found[1]
        # a caller that gives up (a client gone) must not cancel the load the others wait for
        return await asyncio.shield(self._start_load(key, load, ttl_of))

    async def reload(self, key: K, load: Callable[[], Awaitable[V]],
                     ttl_of: Callable[[V], float | None] = lambda _value: None) -> V:
        """Load ``key`` now, live entry or not (joining a load already running): a value
        about to be needed by many requests at once is read before they come."""
        return await asyncio.shield(self._start_load(key, load, ttl_of))

    def _start_load(self, key: K, load: Callable[[], Awaitable[V]],
                    ttl_of: Callable[[V], float | None]) -> asyncio.Future[V]:
        pending = self._loading.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._load(key, load, ttl_of, self._generation))
            self._loading[key] = pending
            pending.add_done_callback(lambda done: self._done_loading(key, done))
        return pending

    async def _load(self, key: K, load: Callable[[], Awaitable[V]], ttl_of: Callable[[V], float | None],
                    generation: int) -> V:
        value = await load()
        if generation == self._generation:  # nothing was forgotten meanwhile: not stale
            self.put(key, value, ttl_of(value))
        return value

    def _done_loading(self, key: K, done: asyncio.Future[V]) -> None:
        if self._loading.get(key) is done:  # not a newer load started after a forget
            del self._loading[key]
        if not done.cancelled() and (exc := done.exception()) is not None:
            # retrieved here, so that a background refresh nobody awaited does not go
            # unreported; a caller waiting for this load gets the exception too
            logger.warning("cache load failed", extra={"error": type(exc).__name__})

    def forget(self, key: K | None = None) -> None:
        """Drop one entry, or all of them; a load already running is not joined any more
        (it read what was there before the change)."""
        self._generation += 1
        if key is None:
            self._entries.clear()
            self._loading.clear()
        else:
            self._entries.pop(key, None)
            self._loading.pop(key, None)

    def forget_where(self, predicate: Callable[[K], bool]) -> None:
        self._generation += 1
        for key in [k for k in self._entries if predicate(k)]:
            del self._entries[key]
        for key in [k for k in self._loading if predicate(k)]:
            del self._loading[key]

    def __len__(self) -> int:
        return len(self._entries)
