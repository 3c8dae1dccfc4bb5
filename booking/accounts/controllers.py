"""Register, log in, who am I, and staff accounts."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.security.jwt import Token

from booking.accounts import management, mfa, services
from booking.accounts.guards import requires_account, requires_admin
from booking.accounts.principal import Principal
from booking.accounts.revocation import end_session
from booking.accounts.schemas import (
    AccountList,
    AccountOut,
    LoginIn,
    MfaChallengeOut,
    MfaEnrolIn,
    MfaEnrolOut,
    MfaTokenOut,
    MfaVerifyIn,
    OfficeMoveIn,
    RegisteredOut,
    RegisterIn,
    TokenOut,
    UserCreate,
)
from booking.accounts.tokens import issue_mfa_token, issue_token
from booking.context import Context
from booking.db.models import UserAccount
from booking.runtime import Runtime
from booking.security.ratelimit import rate_limited


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["accounts"]

    @post("/register", exclude_from_auth=True, status_code=201, summary="Register a couple's account",
          guards=[rate_limited("register")])
    async def register(
        self, data: JSONBody[RegisterIn], ctx: NamedDependency[Context]
    ) -> RegisteredOut:
        account = await services.register_couple(ctx.session, ctx.rt, data)
        return RegisteredOut(id=account.id, email=account.email)

    @post("/login", exclude_from_auth=True, status_code=200,
          opt={"problems": [401]}, summary="Exchange email and password for a token",
          guards=[rate_limited("login")],
          description="Couples get the access token. Clerks and admins with a second factor (required in "
          "production) get `mfa_required: true` and an `mfa_token` instead: then POST /api/v1/auth/mfa/enrol "
          "(first time, when `enrolled` is false) and POST /api/v1/auth/mfa/verify with a TOTP code or a "
          "recovery code, which answers the access token. 401 for a wrong e-mail or password alike; 429 "
          "while failed attempts are throttled.")
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginIn],
        ctx: NamedDependency[Context],
    ) -> TokenOut | MfaChallengeOut:
        address = ctx.rt.rate_limiter.address_of(request.scope)
        account = await services.login(ctx.session, ctx.rt, data.email, data.password, address)
        if mfa.needs_second_factor(ctx.rt, account):
            return MfaChallengeOut(mfa_token=issue_mfa_token(ctx.rt.settings, account.id, account.session_version),
                                   expires_in=ctx.rt.settings.mfa_token_ttl_seconds,
                                   enrolled=account.totp_enabled_at is not None)
        return _access(request, ctx.rt, account)

    @post("/mfa/enrol", exclude_from_auth=True, status_code=200,
          opt={"problems": [401]}, summary="Staff: start setting up TOTP",
          guards=[rate_limited("login")],
          description="With the `mfa_token` of a login whose account has no second factor yet: a new secret "
          "for an authenticator app. Confirm it with POST /api/v1/auth/mfa/verify and its first code.")
    async def mfa_enrol(self, data: JSONBody[MfaEnrolIn], ctx: NamedDependency[Context]) -> MfaEnrolOut:
        account = await mfa.half_logged_in(ctx.session, ctx.rt, data.mfa_token)
        secret, uri = await mfa.start_enrolment(ctx.session, ctx.rt, account.id)
        return MfaEnrolOut(secret=secret, otpauth_uri=uri)

    @post("/mfa/verify", exclude_from_auth=True, status_code=200,
          opt={"problems": [401]}, summary="Staff: the second step of a login",
          guards=[rate_limited("login")],
          description="The `mfa_token` and a TOTP `code` (or a `recovery_code`): the access token. At "
          "enrolment the first code confirms the secret and the answer carries ten one-time recovery codes.")
    async def mfa_verify(self, request: Request[Any, Any, Any], data: JSONBody[MfaVerifyIn],
                         ctx: NamedDependency[Context]) -> MfaTokenOut:
        account = await mfa.half_logged_in(ctx.session, ctx.rt, data.mfa_token)
        throttle, subject = ctx.rt.login_throttle, f"mfa:{account.id}"
        address = ctx.rt.rate_limiter.address_of(request.scope)
        now = ctx.now.timestamp()
        await throttle.check(subject, address, now)
        codes = None
        try:
            if account.totp_enabled_at is None:
                codes = await mfa.confirm_enrolment(ctx.session, ctx.rt, account.id, data.code or "")
            else:
                await mfa.verify(ctx.session, ctx.rt, account.id, code=data.code,
                                 recovery_code=data.recovery_code)
        except mfa.InvalidSecondFactor:
            await throttle.failed(subject, address, now)
            raise
        await throttle.succeeded(subject, address)
        token = _access(request, ctx.rt, account)
        return MfaTokenOut(access_token=token.access_token, expires_in=token.expires_in, recovery_codes=codes)

    @post("/logout", guards=[requires_account], status_code=204, summary="End this session",
          description="The access token is refused from now on, by every API replica (within "
          "BOOKING_ACCOUNT_CACHE_SECONDS on the others).")
    async def logout(self, request: Request[Principal, Token, Any], ctx: NamedDependency[Context]) -> None:
        token = request.auth
        await end_session(ctx.session, ctx.rt.account_gate, request.user.id, token.jti or "", token.exp)


def _access(request: Request[Any, Any, Any], runtime: Runtime, account: UserAccount) -> TokenOut:
    token = issue_token(request.app.state.jwt_auth, runtime.settings, subject=account.id, role=account.role,
                        office_id=account.office_id, session_version=account.session_version)
    return TokenOut(access_token=token, expires_in=runtime.settings.access_token_ttl_seconds)


class AccountController(Controller):
    path = "/api/v1"
    tags = ["accounts"]

    @get("/me", guards=[requires_account], summary="The calling account")
    async def me(self, ctx: NamedDependency[Context]) -> AccountOut:
        return services.account_out(await services.get_account(ctx.session, ctx.caller.id))

    @get("/users", guards=[requires_admin], summary="Staff accounts: clerks and admins (admins)")
    async def list_users(
        self, ctx: NamedDependency[Context],
        office_id: Annotated[int | None, QueryParameter(description="that office's clerks", ge=1)] = None,
    ) -> AccountList:
        rows = await management.list_staff(ctx.session, office_id=office_id)
        return AccountList(data=[services.account_out(a) for a in rows])

    @post("/users", guards=[requires_admin], status_code=201, summary="Create a clerk or admin account (admins)")
    async def create_user(
        self,
        data: JSONBody[UserCreate],
        ctx: NamedDependency[Context],
    ) -> AccountOut:
        return services.account_out(await services.create_staff(ctx, data))

    @post("/users/{user_id:uuid}/deactivate", guards=[requires_admin], status_code=200,
          summary="Deactivate an account (admins; audited)",
          description="Its tokens and calendar feeds stop working; it cannot log in until reactivated.")
    async def deactivate(self, user_id: FromPath[uuid.UUID], ctx: NamedDependency[Context]) -> AccountOut:
        return services.account_out(await management.set_active(ctx, ctx.rt.account_gate,
                                                                 user_id, False))

    @post("/users/{user_id:uuid}/reactivate", guards=[requires_admin], status_code=200,
          summary="Reactivate an account (admins; audited)",
          description="Tokens issued before the deactivation stay refused: the holder logs in again.")
    async def reactivate(self, user_id: FromPath[uuid.UUID], ctx: NamedDependency[Context]) -> AccountOut:
        return services.account_out(await management.set_active(ctx, ctx.rt.account_gate,
                                                                 user_id, True))

    @post("/users/{user_id:uuid}/mfa/reset", guards=[requires_admin], status_code=204,
          summary="Clear a staff member's second factor (admins; audited)",
          description="For a lost phone and lost recovery codes: they enrol again at their next login.")
    async def reset_mfa(self, user_id: FromPath[uuid.UUID], ctx: NamedDependency[Context]) -> None:
        await mfa.reset(ctx, ctx.rt.account_gate, user_id)

    @put("/users/{user_id:uuid}/office", guards=[requires_admin], status_code=200,
         summary="Move a clerk to another office (admins; audited)",
         description="The clerk's tokens and roster feeds of the old office stop working.")
    async def move_office(self, user_id: FromPath[uuid.UUID], data: JSONBody[OfficeMoveIn],
                          ctx: NamedDependency[Context]) -> AccountOut:
        return services.account_out(await management.move_clerk(ctx, ctx.rt.account_gate,
                                                                 user_id, data.office_id))
