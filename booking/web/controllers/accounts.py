"""Register, log in and log out: the API's accounts and its login service, with the token
kept in the page session cookie. Staff whose second factor is asked go on to
``/login/second-factor`` (``desk_login``) with the API's half-way token in a cookie."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Redirect

from booking.accounts import mfa
from booking.accounts import services as accounts
from booking.accounts.principal import Principal
from booking.accounts.revocation import end_session
from booking.accounts.schemas import LoginIn, RegisterIn
from booking.accounts.tokens import issue_mfa_token
from booking.context import Context
from booking.errors import Problem
from booking.security.ratelimit import count_request
from booking.web.forms import FormState, parse, posted, refused, unflatten
from booking.web.pages import page, redirect
from booking.web.session import RENEW, clear_session, new_token, safe_next, session_token, set_session

LOGIN_FIELDS = ("email", "password")
MFA_COOKIE = "booking_mfa"  # the half-way token of a staff login (the API's mfa_token)
REGISTER_FIELDS = ("name", "email", "password", "phone")
# where a login lands when no page asked for it; staff pages add their own start page
HOME_OF_ROLE = {"couple": "/me"}

Next = Annotated[str | None, QueryParameter(name="next", max_length=500)]


class AccountPages(Controller):
    @get("/login", name="login")
    async def login_form(self, request: Request[Any, Any, Any], next_path: Next = None) -> Response[Any]:
        return page(request, "login.html", form=FormState(), next=safe_next(next_path, ""))

    @post("/login", name="login-post")
    async def login(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context]) -> Response[Any]:
        form = await posted(request)
        target = safe_next(form.get("next"), "")
        try:
            await count_request(request, "login", None)
            data = parse(LoginIn, unflatten(form, LOGIN_FIELDS))
            account = await accounts.login(ctx.session, ctx.rt, data.email, data.password,
                                           ctx.rt.rate_limiter.address_of(request.scope))
        except Problem as problem:
            return _refused(request, "login.html", problem, form, LOGIN_FIELDS, target)
        if mfa.needs_second_factor(ctx.rt, account):
            # staff with a second factor: half logged in until the code (/login/second-factor)
            response = Redirect(path="/login/second-factor" + (f"?next={quote(target, safe='/')}" if target else ""),
                                status_code=303)
            response.set_cookie(MFA_COOKIE, issue_mfa_token(ctx.rt.settings, account.id, account.session_version),
                                max_age=ctx.rt.settings.mfa_token_ttl_seconds, path="/login", httponly=True,
                                samesite="lax", secure=ctx.rt.settings.env == "production")
            return response
        return _signed_in(request, Principal(account.id, account.role, account.office_id), target, "logged-in",
                          account.session_version)

    @get("/register", name="register")
    async def register_form(self, request: Request[Any, Any, Any], next_path: Next = None) -> Response[Any]:
        return page(request, "register.html", form=FormState(), next=safe_next(next_path, ""))

    @post("/register", name="register-post")
    async def register(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context]) -> Response[Any]:
        form = await posted(request)
        target = safe_next(form.get("next"), "")
        try:
            await count_request(request, "register", None)
            data = parse(RegisterIn, {**unflatten(form, REGISTER_FIELDS), "locale": ctx.locale})
            await accounts.register_couple(ctx.session, ctx.rt, data)
            # logged in the way every login is: through the login service
            account = await accounts.login(ctx.session, ctx.rt, data.email, data.password,
                                           ctx.rt.rate_limiter.address_of(request.scope))
        except Problem as problem:
            return _refused(request, "register.html", problem, form, REGISTER_FIELDS, target)
        return _signed_in(request, Principal(account.id, account.role, account.office_id), target, "registered",
                          account.session_version)

    @get("/logout", name="logout")
    async def logout_form(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return page(request, "logout.html")

    @post("/logout", name="logout-post")
    async def logout(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context]) -> Response[Any]:
        token = await session_token(request)
        if token is not None:  # the session ends on the server too, not only in this browser
            await end_session(ctx.session, ctx.rt.account_gate, token[0].id, token[1].jti or "", token[1].exp)
        request.state[RENEW] = None  # no renewed session set on the way out
        response = redirect(request, "/", notice="logged-out")
        clear_session(response)
        return response


def _refused(request: Request[Any, Any, Any], template: str, problem: Problem, form: dict[str, Any],
             fields: tuple[str, ...], target: str) -> Response[Any]:
    form.pop("password", None)  # never sent back
    return page(request, template, status_code=problem.status, next=target, form=refused(problem, form, fields))


def _signed_in(request: Request[Any, Any, Any], principal: Principal, target: str, notice: str,
               session_version: int) -> Response[Any]:
    response = redirect(request, target or HOME_OF_ROLE.get(principal.role, "/"), notice=notice)
    set_session(response, request, new_token(request, principal, session_version))
    return response
