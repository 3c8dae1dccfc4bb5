"""Route guards: who may call a handler at all. Per-office checks live in the services.

Guards are coroutines: Litestar runs a plain function guard in a worker thread, which
measured as a thread hop on every request of the booking hot path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from booking.accounts.principal import Principal
from booking.errors import Forbidden, Unauthorized


def _principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise Unauthorized()
    return user


async def requires_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if not _principal(connection).is_admin:
        raise Forbidden()


async def requires_staff(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Clerks and admins; the service then checks the office."""
    if _principal(connection).role not in ("clerk", "admin"):
        raise Forbidden()


async def requires_couple(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if not _principal(connection).is_couple:
        raise Forbidden()


async def requires_account(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    _principal(connection)


Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def in_order(*guards: Guard) -> Guard:
    """Several guards run as one, in order. Litestar copies the route handler for every
    guard it calls (``authorize_connection``), ~11 µs each: the hot writes (a couple's
    booking, sign-up, application) pass their couple check and rate limit as one guard."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        for each in guards:
            await each(connection, handler)

    guard.__name__ = "_then_".join(getattr(g, "__name__", "guard") for g in guards)
    guard.guards = guards  # type: ignore[attr-defined]  # read by the OpenAPI document's x-roles
    return guard
