"""Login throttling: growing delays, not a lockout that anyone can trigger.

Failed logins are counted (for an hour after the last one) on three keys, each a keyed
hash, whether or not the e-mail belongs to an account:

- the e-mail *from this client address*: after 3 failures each further attempt waits
  2, 4, 8 ... seconds, up to 15 minutes. Guessing one password from one place gets slow.
- the e-mail from anywhere: after 10 failures, waits of 2, 4 ... seconds but never more
  than 60: guessing from many addresses is slowed too, yet someone who knows a clerk's
  e-mail can at most make them wait a minute, never lock them out.
- the client address, whatever the e-mail: after 20 failures, up to 15 minutes
  (one address trying many accounts).

While a key waits, the login answers ``429 login-throttled`` with ``Retry-After``, before
the password is looked at, exactly alike for an unknown e-mail, a wrong password and a
right one: the answers never tell whether an account exists. A successful login clears
the first key. Counters live in Redis (shared by the replicas) or in this process
(``booking.security.counters``).

A service: the API's login and the second-factor step call it, and so can web pages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from booking.errors import TooManyRequests
from booking.i18n import lazy
from booking.security.counters import Counters
from booking.security.pii import PersonalDataVault

MEMORY_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class Curve:
    free: int  # failures before any wait
    cap_seconds: int

    def delay(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return float(min(self.cap_seconds, 2 ** min(failures - self.free + 1, 20)))


PAIR = Curve(free=3, cap_seconds=900)
ACCOUNT = Curve(free=10, cap_seconds=60)
ADDRESS = Curve(free=20, cap_seconds=900)


class LoginThrottled(TooManyRequests):
    code = "login-throttled"
    title = lazy("Too many failed attempts; wait a moment and try again.")


class LoginThrottle:
    def __init__(self, counters: Counters, vault: PersonalDataVault) -> None:
        self.counters = counters
        self._vault = vault

    def _keys(self, subject: str, address: str) -> list[tuple[str, Curve]]:
        who = self._vault.lookup_hash(subject.lower(), kind="login")[:32]
        where = self._vault.lookup_hash(address, kind="client_address")[:32]
        return [(f"login:p:{who}:{where}", PAIR), (f"login:e:{who}", ACCOUNT), (f"login:a:{where}", ADDRESS)]

    async def check(self, subject: str, address: str, now: float) -> None:
        """Raise ``LoginThrottled`` while any key of this attempt must wait."""
        keys = self._keys(subject, address)
        untils = await self.counters.get([f"{key}:until" for key, _ in keys])
        waits = [float(u) - now for u in untils if u is not None]
        if waits and max(waits) > 0:
            raise LoginThrottled(headers={"Retry-After": str(max(1, math.ceil(max(waits))))})

    async def failed(self, subject: str, address: str, now: float) -> None:
        keys = self._keys(subject, address)
        counts = await self.counters.incr([(f"{key}:n", MEMORY_SECONDS) for key, _ in keys])
        waits = [(f"{key}:until", str(now + curve.delay(n)), curve.delay(n))
                 for (key, curve), n in zip(keys, counts, strict=True) if curve.delay(n) > 0]
        if waits:
            await self.counters.put(waits)

    async def succeeded(self, subject: str, address: str) -> None:
        pair = self._keys(subject, address)[0][0]
        await self.counters.delete([f"{pair}:n", f"{pair}:until"])
