"""Register, log in, who am I, and staff accounts."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import services
from booking.accounts.guards import requires_account, requires_admin
from booking.accounts.principal import Principal
from booking.accounts.schemas import AccountOut, LoginIn, RegisteredOut, RegisterIn, TokenOut, UserCreateIn
from booking.accounts.tokens import issue_token
from booking.runtime import Runtime


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["accounts"]

    @post("/register", exclude_from_auth=True, status_code=201, summary="Register a couple's account")
    async def register(
        self, data: JSONBody[RegisterIn], session: NamedDependency[AsyncSession], runtime: NamedDependency[Runtime]
    ) -> RegisteredOut:
        account = await services.register_couple(session, runtime, data)
        return RegisteredOut(id=account.id, email=account.email)

    @post("/login", exclude_from_auth=True, status_code=200, summary="Exchange email and password for a token")
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginIn],
        session: NamedDependency[AsyncSession],
        runtime: NamedDependency[Runtime],
    ) -> TokenOut:
        account = await services.login(session, runtime, data.email, data.password)
        token = issue_token(request.app.state.jwt_auth, runtime.settings, subject=account.id, role=account.role,
                            office_id=account.office_id)
        return TokenOut(access_token=token, expires_in=runtime.settings.access_token_ttl_seconds)


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
