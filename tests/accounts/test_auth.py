"""Accounts and access: registration, login, lockout, tokens, role and office guards."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from tests.factories import Actor, create_office, make_actor

pytestmark = pytest.mark.asyncio


async def test_register_login_me(client, runtime):
    response = await client.post("/api/v1/auth/register", json={
        "email": "Bride@Example.com", "password": "correct horse", "name": "李娜", "phone": "13812345678"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "bride@example.com" and body["role"] == "couple"

    response = await client.post("/api/v1/auth/login", json={"email": "bride@example.com", "password": "correct horse"})
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == runtime.settings.access_token_ttl_seconds

    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == "bride@example.com"
    assert me.json()["phone"] == "********678"  # masked, never the full number


async def test_register_twice_is_a_conflict(client):
    body = {"email": "a@example.com", "password": "password-1", "name": "A"}
    assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
    again = await client.post("/api/v1/auth/register", json=body, headers={"Accept-Language": "en"})
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["code"] == "email-taken"


async def test_password_is_stored_as_argon2(client, runtime):
    await client.post("/api/v1/auth/register", json={"email": "b@example.com", "password": "password-1", "name": "B"})
    async with runtime.db.raw() as conn:
        stored = await conn.fetchval("SELECT password_hash FROM user_account WHERE email = 'b@example.com'")
    assert stored.startswith("$argon2id$") and "password-1" not in stored


async def test_unknown_email_looks_like_wrong_password(client):
    response = await client.post("/api/v1/auth/login", json={"email": "nobody@example.com", "password": "x" * 10})
    assert response.status_code == 401 and response.json()["code"] == "invalid-credentials"


async def test_tokens_are_checked(client, runtime, couple: Actor):
    assert (await client.get("/api/v1/me")).status_code == 401
    assert (await client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-jwt"})).status_code == 401
    claims = jwt.decode(couple.token, options={"verify_signature": False})
    secret = runtime.settings.secret_key
    for tamper in ({"aud": "someone-else"}, {"iss": "elsewhere"},
                   {"exp": claims["iat"] - 10 if isinstance(claims.get("iat"), int) else 1}):
        forged = jwt.encode({**claims, **tamper}, secret, algorithm="HS256")
        response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401, tamper
        assert response.headers["content-type"].startswith("application/problem+json")
    other_key = jwt.encode(claims, "another-secret-" + "y" * 40, algorithm="HS256")
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {other_key}"})).status_code == 401
    assert (await client.get("/api/v1/me", headers=couple.headers)).status_code == 200


async def test_role_guards(client, runtime, admin: Actor, couple: Actor):
    office = await create_office(client, admin)
    clerk = await make_actor(runtime, "clerk", office["id"])
    new_office = {"code": "X1", "name_zh": "某处", "name_en": "X", "province_code": "44", "city": "广州",
                  "address_zh": "某路", "services": ["marriage_registration"]}
    # only admins create offices and staff accounts
    for actor in (couple, clerk):
        assert (await client.post("/api/v1/offices", json=new_office, headers=actor.headers)).status_code == 403
        assert (await client.post("/api/v1/users", headers=actor.headers, json={
            "email": "z@example.com", "password": "password-1", "name": "Z", "role": "admin"})).status_code == 403
        assert (await client.get("/api/v1/audit", headers=actor.headers)).status_code == 403
    # couples cannot touch schedules
    assert (await client.get(f"/api/v1/offices/{office['id']}/schedule", headers=couple.headers)).status_code == 403
    # admins create clerks bound to an office
    response = await client.post("/api/v1/users", headers=admin.headers, json={
        "email": "clerk2@example.com", "password": "password-1", "name": "Clerk", "role": "clerk",
        "office_id": office["id"]})
    assert response.status_code == 201 and response.json()["office_id"] == office["id"]
    response = await client.post("/api/v1/users", headers=admin.headers, json={
        "email": "clerk3@example.com", "password": "password-1", "name": "Clerk", "role": "clerk"})
    assert response.status_code == 422


async def test_clerk_of_another_office_gets_404_everywhere(client, runtime, admin: Actor):
    office_a = await create_office(client, admin, code="A-OFFICE")
    office_b = await create_office(client, admin, code="B-OFFICE")
    clerk_a = await make_actor(runtime, "clerk", office_a["id"])
    clerk_b = await make_actor(runtime, "clerk", office_b["id"])
    schedule = {"windows": [{"weekday": 1, "start": "09:00", "end": "10:00",
                             "capacities": {"marriage_registration": 3}}]}
    assert (await client.put(f"/api/v1/offices/{office_b['id']}/schedule", json=schedule,
                             headers=clerk_b.headers)).status_code == 200
    generated = await client.post(f"/api/v1/offices/{office_b['id']}/slots/generate",
                                  json={"from": "2026-09-14", "to": "2026-09-14"}, headers=clerk_b.headers)
    assert generated.status_code == 200 and generated.json()["created"] == 1
    slots = await client.get(f"/api/v1/offices/{office_b['id']}/slots?from=2026-09-14&to=2026-09-14",
                             headers=clerk_b.headers)
    slot_id = slots.json()["data"][0]["id"]
    # things of B that exist, so that a 404 for A means refused, not absent
    assert (await client.post(f"/api/v1/offices/{office_b['id']}/closures", json={"date": "2026-09-15"},
                              headers=clerk_b.headers)).status_code == 201
    assert (await client.post(f"/api/v1/offices/{office_b['id']}/special-openings", json={"date": "2026-10-17"},
                              headers=clerk_b.headers)).status_code == 201

    b = office_b["id"]
    attempts = [
        ("GET", f"/api/v1/offices/{b}/schedule", None),
        ("PUT", f"/api/v1/offices/{b}/schedule", schedule),
        ("GET", f"/api/v1/offices/{b}/closures", None),
        ("POST", f"/api/v1/offices/{b}/closures", {"date": "2026-09-15"}),
        ("DELETE", f"/api/v1/offices/{b}/closures/2026-09-15", None),
        ("DELETE", f"/api/v1/offices/{b}/special-openings/2026-10-17", None),
        ("GET", f"/api/v1/offices/{b}/special-openings", None),
        ("POST", f"/api/v1/offices/{b}/special-openings", {"date": "2026-09-19"}),
        ("POST", f"/api/v1/offices/{b}/slots/generate", {"from": "2026-09-14", "to": "2026-09-18"}),
        ("GET", f"/api/v1/offices/{b}/slots?from=2026-09-14&to=2026-09-18", None),
        ("PATCH", f"/api/v1/slots/{slot_id}", {"capacity": 1}),
    ]
    for method, url, body in attempts:
        response = await client.request(method, url, json=body, headers=clerk_a.headers)
        assert response.status_code == 404, (method, url, response.status_code)
        assert response.headers["content-type"].startswith("application/problem+json")
    # and nothing changed
    slots = await client.get(f"/api/v1/offices/{b}/slots?from=2026-09-14&to=2026-09-18", headers=clerk_b.headers)
    assert [s["capacity"] for s in slots.json()["data"]] == [3]
    closures = (await client.get(f"/api/v1/offices/{b}/closures", headers=clerk_b.headers)).json()["data"]
    assert [c["date"] for c in closures] == ["2026-09-15"]
    openings = (await client.get(f"/api/v1/offices/{b}/special-openings", headers=clerk_b.headers)).json()["data"]
    assert [o["date"] for o in openings] == ["2026-10-17"]


async def test_token_expiry_is_enforced(client, runtime):
    from booking.accounts.tokens import build_jwt_auth

    actor = await make_actor(runtime, "couple")
    auth = build_jwt_auth(runtime.settings)
    expired = auth.create_token(identifier=str(actor.id), token_expiration=timedelta(seconds=1),
                                token_issuer=runtime.settings.token_issuer,
                                token_audience=runtime.settings.token_audience, token_extras={"role": "couple"})
    claims = jwt.decode(expired, options={"verify_signature": False})
    claims["exp"] = claims["iat"] - 5 if "iat" in claims else 1
    stale = jwt.encode(claims, runtime.settings.secret_key, algorithm="HS256")
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {stale}"})).status_code == 401
