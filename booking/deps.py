"""The one dependency every API controller takes: ``ctx``, the request's ``Context``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.context import Context
from booking.errors import Unauthorized
from booking.http.problems import request_locale
from booking.runtime import Runtime


def provide_runtime(state: State) -> Runtime:
    return state.runtime  # type: ignore[no-any-return]


async def provide_session(state: State) -> AsyncIterator[AsyncSession]:
    """One session per request; the service commits once, an exception rolls back."""
    async with state.runtime.db.session() as session:
        yield session


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    user = request.scope.get("user")
    if not isinstance(user, Principal):
        raise Unauthorized()
    return user


def provide_locale(request: Request[Any, Any, Any]) -> str:
    return request_locale(request)


async def provide_ctx(request: Request[Any, Any, Any]) -> AsyncIterator[Context]:
    """The request's context; its session is closed when the response is sent (the service
    commits once, an exception rolls back). No database connection is taken until used."""
    rt: Runtime = request.app.state.runtime
    user = request.scope.get("user")
    async with rt.db.session() as session:
        yield Context(rt, session, user if isinstance(user, Principal) else None, rt.clock.now(),
                      request_locale(request))
