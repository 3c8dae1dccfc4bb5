"""Sold-out slots remembered for a moment, so that the rush's refusals cost almost nothing.

At a release 95% of the requests are refusals: the slot is full. A process that has just
been told so by the database (the seat's conditional UPDATE found no room) refuses further
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


class SoldOutMemory:
    MAX_ENTRIES = 100_000

    def __init__(self, seconds: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.monotonic = monotonic
        self._until: dict[int, float] = {}

    def is_full(self, slot_id: int) -> bool:
        if self.seconds <= 0:
            return False
        until = self._until.get(slot_id)
        if until is None:
            return False
        if until > self.monotonic():
            return True
        self._until.pop(slot_id, None)
        return False

    def saw_full(self, slot_id: int) -> None:
        if self.seconds <= 0:
            return
        if len(self._until) >= self.MAX_ENTRIES:
            self._until.clear()
        self._until[slot_id] = self.monotonic() + self.seconds

    def forget(self, slot_id: int) -> None:
        self._until.pop(slot_id, None)
