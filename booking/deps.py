"""Dependencies shared by every controller: the runtime, a database session, the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
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
