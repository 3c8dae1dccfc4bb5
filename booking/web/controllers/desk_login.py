"""The second step of a staff login through the pages: the same TOTP services as
``POST /api/v1/auth/mfa/enrol`` and ``.../verify`` (``booking.accounts.mfa``), the same
half-way token (kept in the ``booking_mfa`` cookie, path ``/login``, for its five minutes)
and the same throttle of failed codes.

- enrolled: a code from the authenticator app, or one of the recovery codes;
- not yet enrolled (the first login where the factor is required): "set up" shows the secret
  (as a QR code and as text), the first code confirms it, and the ten recovery codes are
  shown once before the desk opens.
"""

from __future__ import annotations

import re
from typing import Any

import segno
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import mfa
from booking.accounts.principal import Principal
from booking.accounts.schemas import MfaVerifyIn
from booking.context import Context
from booking.db.models import UserAccount
from booking.errors import Problem, Unauthorized
from booking.runtime import Runtime
from booking.security.ratelimit import count_request
from booking.web.controllers.accounts import HOME_OF_ROLE, MFA_COOKIE, Next
from booking.web.forms import FormState, parse, posted, refused
from booking.web.pages import page, redirect
from booking.web.session import new_token, safe_next, set_session

CODE_FIELDS = ("code", "recovery_code")
SECRET = re.compile(r"^[A-Z2-7]{16,64}$")


async def _account(request: Request[Any, Any, Any], session: AsyncSession, runtime: Runtime) -> UserAccount | None:
    token = request.cookies.get(MFA_COOKIE)
    if not token:
        return None
    try:
        return await mfa.half_logged_in(session, runtime, token)
    except Unauthorized:
        return None


def _qr(uri: str, title: str) -> str:
    return segno.make_qr(uri, error="m").svg_inline(scale=4, border=2, title=title)  # type: ignore[no-any-return]


def _setup(secret: str, uri: str) -> dict[str, str]:
    return {"secret": secret, "uri": uri, "qr": _qr(uri, "otpauth")}


def _setup_again(enrolled: bool, email: str, form: dict[str, Any]) -> dict[str, str] | None:
    """After a wrong first code, the key being set up is shown again (the form carries it
    back; what is checked is the key stored at "set up", so a changed one only fails)."""
    secret = form.get("secret")
    if not enrolled and isinstance(secret, str) and SECRET.match(secret):
        return _setup(secret, mfa.provisioning_uri(email, secret))
    return None


def _expired(request: Request[Any, Any, Any], target: str) -> Response[Any]:
    """No valid half-way token (expired, or never): start from the password again."""
    response = redirect(request, "/login" + (f"?next={target}" if target else ""))
    response.delete_cookie(MFA_COOKIE, path="/login")
    return response


class StaffSignInPages(Controller):
    path = "/login/second-factor"

    @get("/", name="login-second-factor")
    async def form(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context],
                   next_path: Next = None) -> Response[Any]:
        target = safe_next(next_path, "")
        account = await _account(request, ctx.session, ctx.rt)
        if account is None:
            return _expired(request, target)
        return page(request, "login_second_factor.html", private=True, form=FormState(), next=target,
                    enrolled=account.totp_enabled_at is not None, setup=None)

    @post("/enrol", name="login-second-factor-enrol")
    async def enrol(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context]) -> Response[Any]:
        form = await posted(request)
        target = safe_next(form.get("next"), "")
        account = await _account(request, ctx.session, ctx.rt)
        if account is None:
            return _expired(request, target)
        try:
            await count_request(request, "login", None)
            secret, uri = await mfa.start_enrolment(ctx.session, ctx.rt, account.id)
        except Problem as problem:
            return page(request, "login_second_factor.html", private=True, status_code=problem.status,
                        form=refused(problem), next=target, enrolled=True, setup=None)
        return page(request, "login_second_factor.html", private=True, form=FormState(), next=target,
                    enrolled=False, setup=_setup(secret, uri))

    @post("/", name="login-second-factor-post")
    async def verify(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context]) -> Response[Any]:
        form = await posted(request)
        target = safe_next(form.get("next"), "")
        account = await _account(request, ctx.session, ctx.rt)
        if account is None:
            return _expired(request, target)
        # read now: a refused code rolls the session back, which expires the row
        enrolled, email = account.totp_enabled_at is not None, account.email
        principal = Principal(account.id, account.role, account.office_id)
        session_version = account.session_version
        throttle, subject = ctx.rt.login_throttle, f"mfa:{principal.id}"
        address = ctx.rt.rate_limiter.address_of(request.scope)
        now = ctx.now.timestamp()
        codes = None
        try:
            await count_request(request, "login", None)
            data = parse(MfaVerifyIn, {"mfa_token": request.cookies.get(MFA_COOKIE, ""),
                                       **{k: form[k].strip() for k in CODE_FIELDS
                                          if isinstance(form.get(k), str) and form[k].strip()}})
            await throttle.check(subject, address, now)
            try:
                if not enrolled:
                    codes = await mfa.confirm_enrolment(ctx.session, ctx.rt, principal.id, data.code or "")
                else:
                    await mfa.verify(ctx.session, ctx.rt, principal.id, code=data.code,
                                     recovery_code=data.recovery_code)
            except mfa.InvalidSecondFactor as wrong:
                await throttle.failed(subject, address, now)
                wrong.errors = [{"field": "recovery_code" if data.recovery_code else "code", "message": wrong.title}]
                raise
            await throttle.succeeded(subject, address)
        except Problem as problem:
            setup = _setup_again(enrolled, email, form)
            for typed in ("code", "recovery_code", "secret"):
                form.pop(typed, None)
            return page(request, "login_second_factor.html", private=True, status_code=problem.status,
                        form=refused(problem, form, CODE_FIELDS), next=target, enrolled=enrolled, setup=setup)
        goes_to = target or HOME_OF_ROLE.get(principal.role, "/")
        if codes is not None:  # shown once: the page that shows them also opens the session
            response: Response[Any] = page(request, "login_recovery_codes.html", private=True, codes=codes,
                                           next=goes_to)
        else:
            response = redirect(request, goes_to, notice="logged-in")
        set_session(response, request, new_token(request, principal, session_version))
        response.delete_cookie(MFA_COOKIE, path="/login")
        return response
