"""The one dependency every API controller takes: ``ctx``, the request's ``Context``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request

from booking.accounts.principal import Principal
from booking.context import Context
from booking.http.problems import request_locale
from booking.runtime import Runtime


async def provide_ctx(request: Request[Any, Any, Any]) -> AsyncIterator[Context]:
    """The request's context; its session is closed when the response is sent (the service
    commits once, an exception rolls back). No database connection is taken until used."""
    rt: Runtime = request.app.state.runtime
    user = request.scope.get("user")
    async with rt.db.session() as session:
        yield Context(rt, session, user if isinstance(user, Principal) else None, rt.clock.now(),
                      request_locale(request))
