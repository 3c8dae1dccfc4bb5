"""Sold-out slots remembered for a moment, so that the rush's refusals cost almost nothing.

At a release 95% of the requests are refusals: the slot is full. A process that has just
been told so by the database (the seat's conditional UPDATE found no room, or a booking
took the last seat) refuses further
requests for that slot from memory for ``sold_out_memory_seconds`` (1 s by default),
without encrypting the parties or asking the database.

Only refusals come from memory, never acceptances: a seat is only ever taken by the write.
The memory is per process and is not invalidated across processes: a seat freed by a
cancellation, a closure's undo or a capacity raise goes back through the database at once,
and each process that remembered the slot as full finds it again within the stated time
(at worst a couple is told "full" up to that long after a seat came free, as if they had
pressed a moment earlier).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from booking.kernel.ttl import MISSING, TtlCache


class SoldOutMemory:
    """The slots seen full, each for ``seconds`` (0 turns the memory off): the kernel's
    per-process cache, keyed by slot id."""

    MAX_ENTRIES = 100_000

    def __init__(self, seconds: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.monotonic = monotonic
        # both read when used, so that a test (or a settings reload) may change them
        self._full: TtlCache[int, bool] = TtlCache(seconds, self.MAX_ENTRIES, clock=lambda: self.monotonic())

    def is_full(self, slot_id: int) -> bool:
        return self.seconds > 0 and self._full.get(slot_id) is not MISSING

    def saw_full(self, slot_id: int) -> None:
        if self.seconds > 0:
            self._full.put(slot_id, True, self.seconds)

    def forget(self, slot_id: int) -> None:
        self._full.forget(slot_id)
