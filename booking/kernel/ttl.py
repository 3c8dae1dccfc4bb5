"""One small per-process cache: entries live a fixed time, an edit in this process drops
them at once, and a full cache is emptied (its keys may come from public URLs, so unknown
ones must not pile up). Every per-process cache of the service is one of these."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Final, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()  # what ``get`` answers for no live entry (None may be cached)


class TtlCache(Generic[K, V]):
    def __init__(self, ttl_seconds: float, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}

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

    def forget(self, key: K | None = None) -> None:
        """Drop one entry, or all of them."""
        if key is None:
            self._entries.clear()
        else:
            self._entries.pop(key, None)

    def forget_where(self, predicate: Callable[[K], bool]) -> None:
        for key in [k for k in self._entries if predicate(k)]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
