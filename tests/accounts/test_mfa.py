"""The staff second factor (TOTP, RFC 6238): enrolled at the first login, then required;
recovery codes work once; codes cannot be replayed; everything audited. Couples' login
keeps the fixed contract."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyotp
import pytest

from booking.settings import Settings
from tests.factories import Actor, make_actor, open_office

pytestmark = pytest.mark.asyncio
PASSWORD = {"password": "password-123"}  # make_actor's


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"staff_mfa_required": True}


async def _login(client, actor: Actor) -> dict[str, Any]:
    response = await client.post("/api/v1/auth/login", json={"email": actor.email, **PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()


async def _enrol(client, runtime, actor: Actor) -> tuple[pyotp.TOTP, list[str]]:
    challenge = await _login(client, actor)
    enrol = await client.post("/api/v1/auth/mfa/enrol", json={"mfa_token": challenge["mfa_token"]})
    totp = pyotp.TOTP(enrol.json()["secret"])
    done = await client.post("/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"],
                                                               "code": totp.at(runtime.clock.now())})
    assert done.status_code == 200, done.text
    return totp, done.json()["recovery_codes"]


async def test_enrol_at_first_login_then_code_required(client, runtime, admin: Actor):
    challenge = await _login(client, admin)
    assert challenge["mfa_required"] is True and challenge["enrolled"] is False and "access_token" not in challenge
    # the half-way token is no access token
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {challenge['mfa_token']}"})
            ).status_code == 401
    early = await client.post("/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"], "code": "123456"})
    assert early.status_code == 409 and early.json()["code"] == "mfa-not-started"
    enrol = await client.post("/api/v1/auth/mfa/enrol", json={"mfa_token": challenge["mfa_token"]})
    assert enrol.status_code == 200 and enrol.json()["otpauth_uri"].startswith("otpauth://totp/")
    totp = pyotp.TOTP(enrol.json()["secret"])
    now = runtime.clock.now()
    wrong = await client.post("/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"],
                                                                "code": totp.at(now - timedelta(minutes=5))})
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid-mfa-code"
    done = await client.post("/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"],
                                                               "code": totp.at(now)})
    assert done.status_code == 200
    codes = done.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {done.json()['access_token']}"})
    assert me.status_code == 200 and me.json()["role"] == "admin"

    # next login: enrolled, a code is required, a seen code is refused (no replay)
    again = await _login(client, admin)
    assert again["enrolled"] is True
    replay = await client.post("/api/v1/auth/mfa/verify", json={"mfa_token": again["mfa_token"], "code": totp.at(now)})
    assert replay.status_code == 401
    assert (await client.post("/api/v1/auth/mfa/enrol", json={"mfa_token": again["mfa_token"]})).status_code == 409
    runtime.clock.advance(seconds=30)
    fresh = await client.post("/api/v1/auth/mfa/verify", json={"mfa_token": again["mfa_token"],
                                                                "code": totp.at(runtime.clock.now())})
    assert fresh.status_code == 200 and fresh.json()["recovery_codes"] is None

    # a recovery code works once
    for expected in (200, 401):
        step = await _login(client, admin)
        used = await client.post("/api/v1/auth/mfa/verify", json={"mfa_token": step["mfa_token"],
                                                                   "recovery_code": codes[0].upper()})
        assert used.status_code == expected

    # stored: the secret encrypted, the recovery codes hashed
    async with runtime.db.raw() as conn:
        stored = await conn.fetchval("SELECT totp_secret_enc FROM user_account WHERE id = $1", admin.id)
        hashes = [r[0] for r in await conn.fetch("SELECT code_hash FROM recovery_code WHERE account_id = $1",
                                                 admin.id)]
    assert totp.secret not in stored and len(hashes) == 10
    assert not any(c.replace("-", "") in h or c in h for c in codes for h in hashes)
    token = fresh.json()["access_token"]
    audit = (await client.get("/api/v1/audit", headers={"Authorization": f"Bearer {token}"})).json()["data"]
    trail = [(e["action"], e["outcome"], e["detail"].get("method")) for e in reversed(audit)]
    assert trail == [("account.mfa_verify", "refused", "totp"), ("account.mfa_enrol", "ok", None),
                     ("account.mfa_verify", "refused", "totp"), ("account.mfa_verify", "ok", "totp"),
                     ("account.mfa_verify", "ok", "recovery_code"),
                     ("account.mfa_verify", "refused", "recovery_code")]


async def test_wrong_codes_are_throttled(client, runtime, admin: Actor):
    await _enrol(client, runtime, admin)
    challenge = await _login(client, admin)
    statuses = []
    for _ in range(5):
        r = await client.post("/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"],
                                                                "code": "000000"})
        statuses.append(r.status_code)
    assert statuses[:3] == [401, 401, 401] and statuses[3:] == [429, 429]


async def test_couples_keep_the_contract_and_bad_tokens_are_refused(client, runtime):
    couple = await make_actor(runtime, "couple")
    answer = await _login(client, couple)
    assert set(answer) == {"access_token", "token_type", "expires_in"}
    for token in ("not-a-token", answer["access_token"]):  # an access token is no half-way token
        r = await client.post("/api/v1/auth/mfa/enrol", json={"mfa_token": token})
        assert r.status_code == 401
    both = await client.post("/api/v1/auth/mfa/verify", json={"mfa_token": "x", "code": "123456",
                                                               "recovery_code": "abcdef-abcdef"})
    assert both.status_code == 422


async def test_an_admin_resets_a_lost_second_factor(client, runtime, admin: Actor):
    _totp, _codes = await _enrol(client, runtime, admin)
    step = await _login(client, admin)
    admin_token = (await client.post("/api/v1/auth/mfa/verify", json={
        "mfa_token": step["mfa_token"], "recovery_code": _codes[1]})).json()["access_token"]
    office = await open_office(client, runtime, admin)
    clerk = office.clerk
    _clerk_totp, _ = await _enrol(client, runtime, clerk)
    pending = await _login(client, clerk)  # a login half done when the reset comes
    reset = await client.post(f"/api/v1/users/{clerk.id}/mfa/reset",
                              headers={"Authorization": f"Bearer {admin_token}"})
    assert reset.status_code == 204
    assert (await client.get("/api/v1/me", headers=clerk.headers)).status_code == 401  # sessions ended
    assert (await client.post("/api/v1/auth/mfa/enrol", json={"mfa_token": pending["mfa_token"]})).status_code == 401
    assert (await _login(client, clerk))["enrolled"] is False


async def test_the_default_is_required_in_production_only(client, runtime):
    assert Settings(env="production").staff_mfa_required is True
    assert Settings(env="development").staff_mfa_required is False
    assert Settings(env="test").staff_mfa_required is False


async def test_staff_cannot_skip_the_second_factor_through_the_pages(client, runtime, admin: Actor):
    from tests.web.test_pages import csrf

    page = await client.get("/login")
    response = await client.post("/login", data={"_csrf_token": csrf(page.text), "email": admin.email,
                                                 **PASSWORD})
    # half logged in: on to the second factor (the pages' own step), no session yet
    assert response.status_code == 303 and response.headers["location"] == "/login/second-factor"
    assert "booking_session" not in response.cookies and "booking_mfa" in response.cookies
    assert (await client.get("/desk")).status_code == 303  # to /login: no desk without the code
    step = await client.get("/login/second-factor")
    assert step.status_code == 200 and "/login/second-factor" in step.text
    wrong = await client.post("/login/second-factor", data={"_csrf_token": csrf(step.text), "code": "12345"})
    assert wrong.status_code == 422 and "booking_session" not in wrong.cookies
