"""The deliveries on the wire in one process: how many at once, and a stop that lets them end.

Each delivery (lease, send, mark) runs in a task of its own that the cancellation of whoever
started it does not reach (``asyncio.shield``). Without that, a job cancelled by arq (its
timeout, or arq's own SIGTERM handler) could stop after the mail server accepted a message
and before its row was marked sent; the sweep would send it again once the lease ran out.

The number running at once is the most a crash can repeat: a killed process leaves at most
that many rows leased but unmarked. ``close`` takes no new delivery and waits for the
running ones to finish and be marked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger("booking.notifications")


class DeliveryGate:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.closed = False
        self._slots = asyncio.Semaphore(limit)
        self._running: set[asyncio.Task[str]] = set()

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def run(self, delivery: Callable[[], Awaitable[str]]) -> str | None:
        """Run ``delivery`` once a slot is free and return its outcome; None, without
        running it, once the gate is closed (the process is stopping)."""
        if self.closed:
            return None
        await self._slots.acquire()
        if self.closed:
            self._slots.release()
            return None
        task: asyncio.Task[str] = asyncio.ensure_future(delivery())
        self._running.add(task)
        task.add_done_callback(self._ended)
        return await asyncio.shield(task)

    def _ended(self, task: asyncio.Task[str]) -> None:
        self._running.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            # the caller may have gone (cancelled): say it here, or nobody would
            logger.error("delivery ended with an error", exc_info=task.exception())

    async def close(self, timeout: float) -> int:
        """Take no new delivery; wait up to ``timeout`` seconds for those running. Returns
        how many were still running then (each is sent again once its lease runs out)."""
        self.closed = True
        if not self._running:
            return 0
        _done, pending = await asyncio.wait(set(self._running), timeout=timeout)
        return len(pending)
