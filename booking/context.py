"""What one request works with: the runtime, its database session, the caller, the moment and
the language, provided once (``deps.provide_ctx``, ``web.pages.provide_page_ctx``) instead of
threading the parts through every controller and service.

A service that a request calls takes ``ctx: Context`` first. A job or the CLI, which has no
request, builds one with ``Context.system(rt, session)`` (the ``SYSTEM`` principal, the
runtime's clock, the default language) when it calls such a service; services written only
for jobs keep their narrow ``(rt, session, ...)`` signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import SYSTEM, Principal
from booking.errors import Unauthorized
from booking.runtime import Runtime


@dataclass(frozen=True, slots=True)
class Context:
    rt: Runtime
    session: AsyncSession
    principal: Principal | None
    now: datetime  # the runtime's clock, read once when the request began
    locale: str

    @property
    def caller(self) -> Principal:
        """The signed-in caller; a request without one is refused (401)."""
        if self.principal is None:
            raise Unauthorized()
        return self.principal

    @classmethod
    def system(cls, rt: Runtime, session: AsyncSession, locale: str | None = None) -> Context:
        """A job's or the CLI's context: acting as ``SYSTEM``."""
        return cls(rt, session, SYSTEM, rt.clock.now(), locale or rt.settings.default_locale)
