"""Register, log in, who am I, and staff accounts."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.security.jwt import Token
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import management, services
from booking.accounts.guards import requires_account, requires_admin
from booking.accounts.principal import Principal
from booking.accounts.revocation import account_gate, end_session
from booking.accounts.schemas import (
    AccountOut,
    LoginIn,
    OfficeMoveIn,
    RegisteredOut,
    RegisterIn,
    TokenOut,
    UserCreateIn,
)
from booking.accounts.tokens import issue_token
from booking.runtime import Runtime
from booking.security.ratelimit import rate_limited, rate_limiter


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["accounts"]

    @post("/register", exclude_from_auth=True, status_code=201, summary="Register a couple's account",
          guards=[rate_limited("register")])
    async def register(
        self, data: JSONBody[RegisterIn], session: NamedDependency[AsyncSession], runtime: NamedDependency[Runtime]
    ) -> RegisteredOut:
        account = await services.register_couple(session, runtime, data)
        return RegisteredOut(id=account.id, email=account.email)

    @post("/login", exclude_from_auth=True, status_code=200, summary="Exchange email and password for a token",
          guards=[rate_limited("login")])
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginIn],
        session: NamedDependency[AsyncSession],
        runtime: NamedDependency[Runtime],
    ) -> TokenOut:
        address = rate_limiter(runtime).address_of(request.scope)
        account = await services.login(session, runtime, data.email, data.password, address)
        token = issue_token(request.app.state.jwt_auth, runtime.settings, subject=account.id, role=account.role,
                            office_id=account.office_id, session_version=account.session_version)
        return TokenOut(access_token=token, expires_in=runtime.settings.access_token_ttl_seconds)

    @post("/logout", guards=[requires_account], status_code=204, summary="End this session",
          description="The access token is refused from now on, by every API replica (within "
          "BOOKING_ACCOUNT_CACHE_SECONDS on the others).")
    async def logout(self, request: Request[Principal, Token, Any], session: NamedDependency[AsyncSession],
                     runtime: NamedDependency[Runtime]) -> None:
        token = request.auth
        await end_session(session, account_gate(runtime), request.user.id, token.jti or "", token.exp)


class AccountController(Controller):
    path = "/api/v1"
    tags = ["accounts"]

    @get("/me", guards=[requires_account], summary="The calling account")
    async def me(self, principal: NamedDependency[Principal], session: NamedDependency[AsyncSession]) -> AccountOut:
        return services.account_out(await services.get_account(session, principal.id))

    @post("/users", guards=[requires_admin], status_code=201, summary="Create a clerk or admin account (admins)")
    async def create_user(
        self,
        data: JSONBody[UserCreateIn],
        principal: NamedDependency[Principal],
        session: NamedDependency[AsyncSession],
        runtime: NamedDependency[Runtime],
    ) -> AccountOut:
        return services.account_out(await services.create_staff(session, runtime, data, principal))

    @post("/users/{user_id:uuid}/deactivate", guards=[requires_admin], status_code=200,
          summary="Deactivate an account (admins; audited)",
          description="Its tokens and calendar feeds stop working; it cannot log in until reactivated.")
    async def deactivate(self, user_id: FromPath[uuid.UUID], principal: NamedDependency[Principal],
                         session: NamedDependency[AsyncSession], runtime: NamedDependency[Runtime]) -> AccountOut:
        return services.account_out(await management.set_active(session, account_gate(runtime), principal,
                                                                 user_id, False))

    @post("/users/{user_id:uuid}/reactivate", guards=[requires_admin], status_code=200,
          summary="Reactivate an account (admins; audited)",
          description="Tokens issued before the deactivation stay refused: the holder logs in again.")
    async def reactivate(self, user_id: FromPath[uuid.UUID], principal: NamedDependency[Principal],
                         session: NamedDependency[AsyncSession], runtime: NamedDependency[Runtime]) -> AccountOut:
        return services.account_out(await management.set_active(session, account_gate(runtime), principal,
                                                                 user_id, True))

    @put("/users/{user_id:uuid}/office", guards=[requires_admin], status_code=200,
         summary="Move a clerk to another office (admins; audited)",
         description="The clerk's tokens and roster feeds of the old office stop working.")
    async def move_office(self, user_id: FromPath[uuid.UUID], data: JSONBody[OfficeMoveIn],
                          principal: NamedDependency[Principal], session: NamedDependency[AsyncSession],
                          runtime: NamedDependency[Runtime]) -> AccountOut:
        return services.account_out(await management.move_clerk(session, account_gate(runtime), principal,
                                                                 user_id, data.office_id))
