"""Access tokens are verified on a short path for the service's own form
(``booking.accounts.tokens.AccessToken``): it must answer exactly as PyJWT does, for
every token, well-formed or not. Each case is decided by both; the answers must agree
(the same payload, or both refuse)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar.security.jwt import Token

from booking.accounts.tokens import AccessToken

SECRET = "s" * 64
AUD, ISS = "booking-api", "booking"
# what Litestar's JWT middleware passes for the service's JWTAuth
OPTIONS = {"verify_aud": True, "verify_iss": True, "require": ["exp", "sub", "aud", "iss"]}


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"sub": "4f8c1f5e-7d5a-4c1e-9f0b-2d6c1b9e8a71", "aud": AUD, "iss": ISS, "iat": now - 5,
              "exp": now + 600, "jti": "a" * 32, "role": "couple", "sv": 0}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not _DROP}


_DROP = object()
HEADER = jwt.encode({"sub": "x"}, SECRET, algorithm="HS256").split(".")[0]  # PyJWT's, as issued


def _token(claims: dict[str, Any] | None = None, key: str = SECRET, algorithm: str = "HS256",
           headers: dict[str, Any] | None = None) -> str:
    claims = _claims() if claims is None else claims
    if key == SECRET and algorithm == "HS256" and headers is None:
        # signed by hand: PyJWT's encode refuses some of the claims the cases need
        return _signed(HEADER, json.dumps(claims, separators=(",", ":")).encode())
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _signed(header: str, payload: bytes) -> str:
    import hashlib
    import hmac
    body = f"{header}.{_b64(payload)}"
    return body + "." + _b64(hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).digest())


def _respelled_payload() -> str:
    """A valid token whose payload segment ends in a character with spare bits, then that
    character's other spelling (re-signed: the signature covers the text)."""
    for n in range(64):
        claims = _claims(jti="j" * n)
        segment = _b64(json.dumps(claims, separators=(",", ":")).encode())
        if len(segment) % 4 in (2, 3):
            last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(segment[-1])
            respelled = segment[:-1] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last + 1]
            import hashlib
            import hmac
            body = f"{HEADER}.{respelled}"
            return body + "." + _b64(hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).digest())
    raise AssertionError("no payload with spare bits")


def _decide(decoder: Any, token: str) -> tuple[str, Any]:
    try:
        return "accepted", decoder.decode_payload(token, SECRET, ["HS256"], issuer=[ISS], audience=[AUD],
                                                  options=dict(OPTIONS))
    except jwt.InvalidTokenError:
        return "refused", None


def _same(token: str) -> tuple[str, Any]:
    ours, pyjwt = _decide(AccessToken, token), _decide(Token, token)
    assert ours == pyjwt, token
    return ours


now = int(time.time())
CASES = {
    "valid": _token(),
    "audience among others": _token(_claims(aud=["other", AUD])),
    "expired": _token(_claims(exp=now - 1)),
    "expiring now": _token(_claims(exp=now)),
    "issued in the future": _token(_claims(iat=now + 60)),
    "not valid before": _token(_claims(nbf=now + 60)),
    "nbf past": _token(_claims(nbf=now - 60)),
    "iat a numeric string": _token(_claims(iat=str(now - 5))),
    "iat text": _token(_claims(iat="yesterday")),
    "exp text": _token(_claims(exp="later")),
    "exp float": _token(_claims(exp=now + 600.5)),
    "exp missing": _token(_claims(exp=_DROP)),
    "exp null": _token(_claims(exp=None)),
    "sub missing": _token(_claims(sub=_DROP)),
    "sub a number": _token(_claims(sub=7)),
    "jti a number": _token(_claims(jti=7)),
    "aud other": _token(_claims(aud="other")),
    "aud empty": _token(_claims(aud="")),
    "aud list with a number": _token(_claims(aud=[AUD, 3])),
    "aud an object": _token(_claims(aud={"a": AUD})),
    "iss other": _token(_claims(iss="evil")),
    "iss a number": _token(_claims(iss=1)),
    "iss missing": _token(_claims(iss=_DROP)),
    "another key": _token(key="k" * 64),
    "HS512 with our key": _token(algorithm="HS512"),
    "alg none": _b64(b'{"alg":"none","typ":"JWT"}') + "." + _b64(json.dumps(_claims()).encode()) + ".",
    "header with kid": _token(headers={"kid": "1"}),
    "payload a list": _signed(HEADER, b"[1, 2]"),
    "payload not json": _signed(HEADER, b"{not json"),
    "padded signature": _token() + "=",
    "junk in the signature": _token()[:-2] + "!!",
    # the same signature bytes, spelled with the last character's spare bits set
    "signature spelled otherwise": (lambda t: t[:-1] + chr(ord(t[-1]) + 1))(_token()),
    "payload spelled otherwise": _respelled_payload(),
    "extra segment": HEADER + "." + _token().split(".", 1)[1] + ".x",
    "two segments": ".".join(_token().split(".")[:2]),
    "tampered payload": HEADER + "." + _b64(json.dumps(_claims(role="admin")).encode()) + "."
                        + _token().split(".")[2],
    "empty": "",
    "non-ascii": _token() + "é",
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_short_path_answers_as_pyjwt(name: str):
    decision = _same(CASES[name])
    should_pass = name in {"valid", "audience among others", "nbf past", "iat a numeric string", "exp float",
                           "header with kid", "padded signature"}
    assert decision[0] == ("accepted" if should_pass else "refused")


def test_the_services_own_tokens_take_the_short_path(monkeypatch: pytest.MonkeyPatch):
    def no_pyjwt(*_args: Any, **_kw: Any) -> Any:
        raise AssertionError("PyJWT was asked")

    monkeypatch.setattr(jwt, "decode", no_pyjwt)
    assert _decide(AccessToken, CASES["valid"])[0] == "accepted"
    assert _decide(AccessToken, CASES["expired"])[0] == "refused"
    with pytest.raises(AssertionError):  # another header is PyJWT's to decide
        _decide(AccessToken, CASES["header with kid"])


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0, max_value=400),
       replacement=st.sampled_from("ABQRghwx_-.=+/ é015"))
def test_any_one_character_changed_is_answered_as_pyjwt(position: int, replacement: str):
    token = CASES["valid"]
    position %= len(token)
    _same(token[:position] + replacement + token[position + 1:])


def test_options_left_out_mean_what_they_mean_to_pyjwt():
    # no "verify_aud" / "verify_iss": PyJWT checks both; a token with an audience is refused
    # where none is expected, and one from another issuer where an issuer is
    for options, issuer, audience in (({}, None, None), ({"require": ["exp"]}, ["elsewhere"], [AUD])):
        for decoder in (AccessToken, Token):
            with pytest.raises(jwt.InvalidTokenError):
                decoder.decode_payload(CASES["valid"], SECRET, ["HS256"], issuer=issuer, audience=audience,
                                       options=dict(options))
