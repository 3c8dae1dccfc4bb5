"""Access tokens: JWT (HS256) with expiry, issuer and audience checked on every request."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.security.jwt import JWTAuth, Token

from booking.accounts.principal import ROLES, Principal
from booking.settings import Settings


async def _principal_from_token(token: Token, _connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    # The token is already verified (signature, exp, iss, aud); no database read per request.
    role = token.extras.get("role")
    if role not in ROLES:
        return None
    try:
        subject = uuid.UUID(token.sub)
    except ValueError:
        return None
    office = token.extras.get("office")
    return Principal(id=subject, role=role, office_id=int(office) if office is not None else None)


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
                office_id: int | None) -> str:
    extras: dict[str, Any] = {"role": role}
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
