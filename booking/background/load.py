"""The API's requests in flight in this process, and background work that yields to them.

The embedded default (no Redis) delivers the outbox inside ``booking serve``, on the same
event loop and core as the requests. Rendering a confirmation (its e-mail and calendar
invite) is a few milliseconds of CPU that a couple pressing "book" would wait behind: in
``bench/release_rush.py`` the in-process delivery took about 40% of the server's CPU while
bookings were being made. A confirmation can wait a second; the booking cannot. So each
in-process delivery first waits for a moment with no request in flight, at most
``BOOKING_BACKGROUND_YIELD_SECONDS``, and then goes ahead regardless (under unbroken load
the outbox still moves, one message per that bound at least).

A deployment with Redis delivers in ``booking worker`` processes, which this does not
concern: the operating system schedules them (deploy/README.md).
"""

from __future__ import annotations

import asyncio


class RequestLoad:
    def __init__(self) -> None:
        self.in_flight = 0

    async def lull(self, at_most: float, poll: float = 0.02) -> None:
        """Return once no request is in flight, or after ``at_most`` seconds."""
        if not self.in_flight or at_most <= 0:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + at_most
        while self.in_flight and loop.time() < deadline:
            await asyncio.sleep(poll)
