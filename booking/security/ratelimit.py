"""Rate limits per client address and per account, shared by every API replica.

Each rule counts requests in a fixed window, per keyed hash of the client address and per
account; the first count past its limit answers ``429`` problem+json with ``Retry-After``
(the end of the window). Both counters of a request go to Redis in one round trip,
shared with the other requests counted in the same turn of the event loop (one script
call: ``booking.security.counters``), the only cost a limited request pays; without
Redis, or while it does not answer, the counters are kept in this process.

The client address is the connecting peer's, unless that peer is one of the configured
proxies (``BOOKING_TRUSTED_PROXIES``): then it is the right-most address in
``X-Forwarded-For`` that is not a trusted proxy itself, so a client cannot choose its own
address by sending the header.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from booking.errors import TooManyRequests
from booking.i18n import lazy
from booking.security.counters import Counters

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Rule:
    per_account: int  # 0: not counted per account
    per_address: int  # 0: not counted per address
    window_seconds: int


class RateLimited(TooManyRequests):
    code = "rate-limited"
    title = lazy("Too many requests; try again later.")


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(t, strict=False) for t in trusted)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(scope: Any, trusted_proxies: list[str]) -> str:
    """The client's address, trusting X-Forwarded-For only from the configured proxies."""
    peer = (scope.get("client") or ("unknown", 0))[0]
    networks = _networks(tuple(trusted_proxies))
    if not networks or not _trusted(peer, networks):
        return peer
    forwarded: list[str] = []
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            forwarded += [part.strip() for part in value.decode("latin-1").split(",") if part.strip()]
    for hop in reversed(forwarded):
        if not _trusted(hop, networks):
            return hop
    return forwarded[0] if forwarded else peer


class RateLimiter:
    def __init__(self, counters: Counters, rules: dict[str, Rule], trusted_proxies: list[str],
                 pseudonym: Any) -> None:
        self.counters = counters
        self.rules = rules
        self.trusted_proxies = trusted_proxies
        self._pseudonym = pseudonym  # keyed hash: no address in a Redis key

    def address_of(self, scope: Any) -> str:
        return client_address(scope, self.trusted_proxies)

    def address_key(self, scope: Any) -> str:
        return self._pseudonym(self.address_of(scope))

    async def check(self, name: str, *, address_key: str | None, account: Any | None, now: float) -> None:
        """Count one request of rule ``name``; raise ``RateLimited`` past a limit."""
        rule = self.rules.get(name)
        if rule is None:
            return
        window = int(now // rule.window_seconds)
        keys: list[tuple[str, int]] = []
        limits: list[int] = []
        if rule.per_address and address_key is not None:
            keys.append((f"{name}:a:{address_key}:{window}", rule.window_seconds))
            limits.append(rule.per_address)
        if rule.per_account and account is not None:
            keys.append((f"{name}:u:{account}:{window}", rule.window_seconds))
            limits.append(rule.per_account)
        if not keys:
            return
        counts = await self.counters.incr(keys)
        if any(count > limit for count, limit in zip(counts, limits, strict=True)):
            retry = max(1, int((window + 1) * rule.window_seconds - now) + 1)
            raise RateLimited(headers={"Retry-After": str(retry)})


# name: (per account, per client address, window in seconds); BOOKING_RATE_LIMITS overrides
# single rules. Per address is generous: a carrier's NAT puts many couples behind one address.
DEFAULT_RULES: dict[str, tuple[int, int, int]] = {
    "login": (0, 120, 60),  # failures are throttled further by booking.accounts.throttle
    "register": (0, 30, 3600),
    "booking": (10, 300, 60),  # appointments and cross-province applications
    "signup": (10, 300, 60),
    "sms": (20, 0, 86400),  # SMS caused by one account per day (per number: sms_per_number_per_hour)
}


def build_rate_limiter(runtime: Any) -> RateLimiter:
    settings = runtime.settings
    rules = {name: Rule(*values) for name, values in {**DEFAULT_RULES, **settings.rate_limits}.items()}
    if not settings.rate_limits_enabled:
        rules = {}

    # a keyed hash per request is measurable in a rush; a client sends many requests
    @lru_cache(maxsize=4096)
    def pseudonym(address: str) -> str:
        return runtime.vault.lookup_hash(address, kind="client_address")[:32]

    return RateLimiter(Counters(lambda: runtime.redis), rules, settings.trusted_proxies, pseudonym)


async def count_request(request: Any, name: str, account: Any | None) -> None:
    """The same limit from inside a handler that knows its account only there (the pages,
    whose session cookie is read by a dependency, after the guards)."""
    runtime = request.app.state.runtime
    limiter = runtime.rate_limiter
    await limiter.check(name, address_key=limiter.address_key(request.scope), account=account,
                        now=runtime.clock.now().timestamp())


def rate_limited(name: str) -> Any:
    """A route guard counting rule ``name`` per client address and per calling account."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        runtime = connection.app.state.runtime
        limiter: RateLimiter = runtime.rate_limiter
        user = connection.scope.get("user")
        await limiter.check(name, address_key=limiter.address_key(connection.scope),
                            account=getattr(user, "id", None), now=runtime.clock.now().timestamp())

    guard.__name__ = f"rate_limited_{name}"
    return guard
