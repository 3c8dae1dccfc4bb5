"""The page session: the API's own access token, kept in a cookie.

Logging in through a page calls the same service as ``POST /api/v1/auth/login`` and gets the
same token; the cookie (HttpOnly, SameSite=Lax, Secure in production) carries it, and every
page request verifies it exactly as the API verifies a bearer token (the JWT middleware's
own ``authenticate_token``: signature, expiry, issuer, audience, and whatever revocation
the app's ``JWTAuth`` checks). So an account or token the API refuses is refused here too.
The cookie is only read on page routes; the API under ``/api`` never accepts it, so the
API needs no CSRF protection, and the pages get it from the CSRF middleware of their router.

The token is renewed when half its lifetime has passed (a sliding session): a couple filling
a form is not logged out after an hour of use, and an idle session ends with its token.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import NotAuthorizedException
from litestar.security.jwt import Token

from booking.accounts.principal import Principal
from booking.accounts.tokens import issue_token
from booking.errors import Forbidden
from booking.runtime import Runtime

COOKIE = "booking_session"
RENEW = "page_session_renewed"  # request.state key: a renewed token to set on the response


class LoginRequired(Exception):  # noqa: N818 - a signal, handled by a redirect to /login
    """The page needs a logged-in account: the handler redirects to /login?next=..."""

    def __init__(self, next_path: str) -> None:
        super().__init__("login required")
        self.next_path = next_path


def _verifier(request: Request[Any, Any, Any]) -> Any:
    """The app's JWT middleware, built once, used for its ``authenticate_token`` only."""
    verifier = getattr(request.app.state, "page_token_verifier", None)
    if verifier is None:
        define = request.app.state.jwt_auth.middleware
        verifier = define.middleware(app=request.app, **define.kwargs)
        request.app.state.page_token_verifier = verifier
    return verifier


async def session_token(request: Request[Any, Any, Any]) -> tuple[Principal, Token] | None:
    """The principal and token of a valid session cookie (revocation checked), or None."""
    encoded = request.cookies.get(COOKIE)
    if not encoded:
        return None
    try:
        result = await _verifier(request).authenticate_token(encoded, request)
    except NotAuthorizedException:
        return None
    principal, token = result.user, result.auth
    if not isinstance(principal, Principal) or not isinstance(token, Token):
        return None
    return principal, token


async def provide_viewer(request: Request[Any, Any, Any]) -> Principal | None:
    """Who is looking at the page: the principal of a valid session cookie, or None."""
    found = await session_token(request)
    if found is None:
        return None
    principal, token = found
    runtime: Runtime = request.app.state.runtime
    ttl = runtime.settings.access_token_ttl_seconds
    if token.exp - datetime.now(UTC) < timedelta(seconds=ttl / 2):
        request.state[RENEW] = new_token(request, principal, token.extras.get("sv", 0))
    return principal


def new_token(request: Request[Any, Any, Any], principal: Principal, session_version: int) -> str:
    """A token of the account's current session version (a renewal keeps the one it had)."""
    runtime: Runtime = request.app.state.runtime
    return issue_token(request.app.state.jwt_auth, runtime.settings, subject=principal.id, role=principal.role,
                       office_id=principal.office_id, session_version=session_version)


def set_session(response: Response[Any], request: Request[Any, Any, Any], token: str) -> None:
    settings = request.app.state.runtime.settings
    response.set_cookie(COOKIE, token, max_age=settings.access_token_ttl_seconds, path="/", httponly=True,
                        samesite="lax", secure=settings.env == "production")


def clear_session(response: Response[Any]) -> None:
    response.delete_cookie(COOKIE, path="/")


def here(request: Request[Any, Any, Any]) -> str:
    query = request.scope.get("query_string", b"").decode("latin-1")
    return request.url.path + (f"?{query}" if query else "")


def require_login(request: Request[Any, Any, Any], viewer: Principal | None) -> Principal:
    if viewer is None:
        raise LoginRequired(here(request))
    return viewer


def require_couple(request: Request[Any, Any, Any], viewer: Principal | None) -> Principal:
    """Pages of a couple's own: a staff account is told it has no such page (403)."""
    principal = require_login(request, viewer)
    if not principal.is_couple:
        raise Forbidden()
    return principal


def safe_next(value: str | None, default: str = "/me") -> str:
    """Only a path of this site: never an open redirect to another host."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def login_url(next_path: str) -> str:
    return f"/login?next={quote(next_path, safe='/')}"
