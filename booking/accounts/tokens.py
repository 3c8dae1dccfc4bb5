"""Access tokens: JWT (HS256) with expiry, issuer and audience checked on every request,
and the account behind each token re-checked (``booking.accounts.revocation``)."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import jwt
from litestar.connection import ASGIConnection
from litestar.security.jwt import JWTAuth, Token

from booking.accounts.principal import ROLES, Principal
from booking.accounts.revocation import SessionClaims
from booking.errors import Unauthorized
from booking.settings import Settings


def session_claims(token: Token) -> SessionClaims | None:
    role = token.extras.get("role")
    office = token.extras.get("office")
    version = token.extras.get("sv")
    if role not in ROLES or not token.jti or not isinstance(version, int) or not (
            office is None or isinstance(office, int)):
        return None
    try:
        subject = uuid.UUID(token.sub)
    except ValueError:
        return None
    return SessionClaims(subject, token.jti, role, office, version)


# A handler's ``opt`` key: its handler runs the account check itself, after what it may
# answer without one (the booking POST refuses a slot remembered as full first).
ACCOUNT_CHECK_IN_HANDLER = "account_check_in_handler"
_DEFERRED = "deferred_account_claims"


async def _principal_from_token(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    # The signature, exp, iss and aud are verified; the account must still allow the token
    # (active, same role, office and session version, not logged out): cached per process.
    claims = session_claims(token)
    if claims is None:
        return None
    if connection.route_handler.opt.get(ACCOUNT_CHECK_IN_HANDLER):
        connection.scope[_DEFERRED] = claims  # type: ignore[typeddict-unknown-key]
    elif not await connection.app.state.runtime.account_gate.admits(claims):
        return None
    return Principal(id=claims.account_id, role=claims.role, office_id=claims.office_id)


async def check_account(connection: ASGIConnection[Any, Any, Any, Any], *,
                        write_checks: bool = False) -> SessionClaims | None:
    """The account check of a handler marked ``ACCOUNT_CHECK_IN_HANDLER`` (401 when the
    account no longer allows the token); a no-op on every other handler, whose check ran.

    ``write_checks``: the handler's write can check the account in its own statement. When
    this process has nothing cached for the token, nothing is read here: the claims are
    returned for the write to check (the rush's bookings, each a token seen for the first
    time, save a round trip). Whatever the handler answers before its write is then
    answered unchecked: it must reveal nothing of the account's own, and write nothing."""
    claims = connection.scope.get(_DEFERRED)
    if claims is None:
        return None
    gate = connection.app.state.runtime.account_gate
    known = gate.known(claims)
    if known is None and write_checks:
        return claims
    if not (known if known is not None else await gate.admits(claims)):
        raise Unauthorized()
    return None


def build_jwt_auth(settings: Settings) -> JWTAuth[Principal, Token]:
    return JWTAuth[Principal, Token](
        retrieve_user_handler=_principal_from_token,
        token_secret=settings.secret_key,
        algorithm="HS256",
        default_token_expiration=timedelta(seconds=settings.access_token_ttl_seconds),
        accepted_audiences=[settings.token_audience],
        accepted_issuers=[settings.token_issuer],
        require_claims=["exp", "sub", "aud", "iss"],
        exclude_opt_key="exclude_from_auth",
        exclude=["/health", "/ready", "/schema"],
        description="Bearer access token from POST /api/v1/auth/login",
    )


def issue_token(jwt_auth: JWTAuth[Principal, Token], settings: Settings, *, subject: uuid.UUID, role: str,
                office_id: int | None, session_version: int = 0) -> str:
    extras: dict[str, Any] = {"role": role, "sv": session_version}
    if office_id is not None:
        extras["office"] = office_id
    return jwt_auth.create_token(
        identifier=str(subject),
        token_expiration=timedelta(seconds=settings.access_token_ttl_seconds),
        token_issuer=settings.token_issuer,
        token_audience=settings.token_audience,
        token_unique_jwt_id=uuid.uuid4().hex,
        token_extras=extras,
    )


# The half-way token of a staff login: password checked, second factor not yet. Another
# audience, so the API never takes it for an access token.
MFA_AUDIENCE_SUFFIX = ":mfa"


def issue_mfa_token(settings: Settings, account_id: uuid.UUID, session_version: int) -> str:
    now = int(time.time())
    return jwt.encode({"sub": str(account_id), "aud": settings.token_audience + MFA_AUDIENCE_SUFFIX,
                       "iss": settings.token_issuer, "iat": now, "exp": now + settings.mfa_token_ttl_seconds,
                       "jti": uuid.uuid4().hex, "sv": session_version}, settings.secret_key, algorithm="HS256")


def read_mfa_token(settings: Settings, token: str) -> tuple[uuid.UUID, int] | None:
    """(account id, session version) of a valid half-way token, else None."""
    try:
        claims = jwt.decode(token, settings.secret_key, algorithms=["HS256"],
                            audience=settings.token_audience + MFA_AUDIENCE_SUFFIX, issuer=settings.token_issuer,
                            options={"require": ["exp", "sub", "aud", "iss", "sv"]})
        return uuid.UUID(claims["sub"]), int(claims["sv"])
    except (jwt.InvalidTokenError, ValueError, TypeError):
        return None
