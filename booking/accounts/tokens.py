"""Access tokens: JWT (HS256) with expiry, issuer and audience checked on every request,
and the account behind each token re-checked (``booking.accounts.revocation``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from functools import lru_cache
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm
from jwt.exceptions import (
    DecodeError,
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    InvalidJTIError,
    InvalidSignatureError,
    InvalidSubjectError,
    MissingRequiredClaimError,
)
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


# The form every access token of this service has: PyJWT's header for HS256 (sorted keys,
# no spaces), a payload and a 32-byte signature, unpadded base64url throughout.
_HS256_HEADER = base64.urlsafe_b64encode(
    json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":"), sort_keys=True).encode()).decode().rstrip("=")
_OWN_FORM = re.compile(re.escape(_HS256_HEADER) + r"\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})")
_PLAIN_OPTIONS = frozenset({"verify_aud", "verify_iss", "require"})


def _b64(segment: str) -> bytes:
    """A segment's bytes; like PyJWT, only the one canonical spelling of them (the last
    character's spare bits zero), else ``DecodeError``."""
    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if base64.urlsafe_b64encode(raw).decode().rstrip("=") != segment:
        raise DecodeError("Invalid padding")
    return raw


@lru_cache(maxsize=8)
def _usable_secret(secret: str) -> bool:
    """The secret is one PyJWT takes as an HMAC key (not empty, not a PEM or SSH key)."""
    try:
        return bool(secret) and bool(HMACAlgorithm(HMACAlgorithm.SHA256).prepare_key(secret))
    except jwt.InvalidKeyError:
        return False


class AccessToken(Token):
    """Litestar's token, verified on a short path for the one form this service issues.

    Every request verifies its token: through Litestar and PyJWT's general path (key
    preparation, header parsing, options merging) that measured 60-100 µs, here ~35 µs,
    of a release rush refusal's ~450 µs of server CPU.
    A token of exactly our form (``_OWN_FORM``, the options Litestar passes for our
    ``JWTAuth``) is checked here with the same rules PyJWT applies, in the same words
    (its exceptions); anything else (another header or algorithm, padding, odd options)
    is PyJWT's to decide. tests/accounts/test_token_verification.py holds the two to the
    same answers.
    """

    @classmethod
    def decode_payload(cls, encoded_token: str, secret: str, algorithms: list[str],
                       issuer: str | Sequence[str] | None = None, audience: str | Sequence[str] | None = None,
                       options: Any = None) -> Any:
        own = _OWN_FORM.fullmatch(encoded_token) if isinstance(encoded_token, str) else None
        if own is None or algorithms != ["HS256"] or not isinstance(secret, str) or options is None or (
                not _PLAIN_OPTIONS.issuperset(options)) or not _usable_secret(secret):
            return super().decode_payload(encoded_token, secret, algorithms, issuer, audience, options)
        signing_input = encoded_token[:own.start(2) - 1].encode()
        expected = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
        payload_bytes, signature = _b64(own.group(1)), _b64(own.group(2))  # both checked first, as PyJWT does
        if not hmac.compare_digest(expected, signature):
            raise InvalidSignatureError("Signature verification failed")
        try:
            payload = json.loads(payload_bytes)
        except (ValueError, RecursionError) as exc:
            raise DecodeError(f"Invalid payload string: {exc}") from exc
        if not isinstance(payload, dict):
            raise DecodeError("Invalid payload string: must be a json object")
        _check_claims(payload, options, issuer, audience)
        return payload


def _check_claims(payload: dict[str, Any], options: dict[str, Any], issuer: str | Sequence[str] | None,
                  audience: str | Sequence[str] | None) -> None:
    """PyJWT's claim checks (``PyJWT._validate_claims``) with its defaults, no leeway."""
    for claim in options.get("require", ()):
        if payload.get(claim) is None:
            raise MissingRequiredClaimError(claim)
    now = time.time()
    for claim, error in (("iat", InvalidIssuedAtError), ("nbf", DecodeError), ("exp", DecodeError)):
        if claim not in payload:
            continue
        try:
            moment = int(payload[claim])
        except (ValueError, TypeError, OverflowError):
            raise error(f"{claim} must be an integer.") from None
        if claim == "exp" and moment <= now:
            raise ExpiredSignatureError("Signature has expired")
        if claim != "exp" and moment > now:
            raise ImmatureSignatureError(f"The token is not yet valid ({claim})")
    if options.get("verify_iss", True) and issuer is not None:
        if "iss" not in payload:
            raise MissingRequiredClaimError("iss")
        if not isinstance(payload["iss"], str):
            raise InvalidIssuerError("Payload Issuer (iss) must be a string")
        accepted = (payload["iss"] == issuer) if isinstance(issuer, str) else (payload["iss"] in issuer)
        if not accepted:
            raise InvalidIssuerError("Invalid issuer")
    if options.get("verify_aud", True):
        _check_audience(payload, audience)
    if "sub" in payload and not isinstance(payload["sub"], str):
        raise InvalidSubjectError("Subject must be a string")
    if "jti" in payload and not isinstance(payload["jti"], str):
        raise InvalidJTIError("JWT ID must be a string")


def _check_audience(payload: dict[str, Any], audience: str | Sequence[str] | None) -> None:
    if audience is None:
        if payload.get("aud"):
            raise InvalidAudienceError("Invalid audience")
        return
    claimed = payload.get("aud")
    if not claimed:
        raise MissingRequiredClaimError("aud")
    if isinstance(claimed, str):
        claimed = [claimed]
    if not isinstance(claimed, list) or any(not isinstance(c, str) for c in claimed):
        raise InvalidAudienceError("Invalid claim format in token")
    wanted = [audience] if isinstance(audience, str) else audience
    if all(a not in claimed for a in wanted):
        raise InvalidAudienceError("Audience doesn't match")


def build_jwt_auth(settings: Settings) -> JWTAuth[Principal, Token]:
    return JWTAuth[Principal, Token](
        token_cls=AccessToken,
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
