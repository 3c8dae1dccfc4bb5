"""Revocation: a token is refused once its account no longer allows it (deactivated, moved
to another office, logged out), on the replica that made the change at once and on the
others after the account cache period; forged and stale tokens are refused (401)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import jwt
import pytest

from booking.accounts.tokens import build_jwt_auth
from booking.app import create_app
from booking.runtime import Runtime
from tests.conftest import make_settings, running
from tests.factories import Actor, make_actor, open_office

pytestmark = pytest.mark.asyncio


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _status(client: httpx.AsyncClient, token: str) -> int:
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    if response.status_code == 401:
        assert response.headers["content-type"].startswith("application/problem+json")
    return response.status_code


@asynccontextmanager
async def replica(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """Another API replica: its own process state (caches), the same database and clock."""
    other = Runtime.build(make_settings(runtime.settings.database_url, runtime.settings.data_dir,
                                        secret_key=runtime.settings.secret_key,
                                        data_key=runtime.settings.data_key), clock=runtime.clock)
    other.run_in_process_jobs = False
    try:
        async with running(create_app(runtime=other)) as app:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r2") as client:
                yield client
    finally:
        await other.close()


async def test_forged_and_stale_tokens_are_refused(client, runtime, couple: Actor):
    assert await _status(client, couple.token) == 200
    claims = jwt.decode(couple.token, options={"verify_signature": False})
    secret = runtime.settings.secret_key
    now = int(runtime.clock.now().timestamp())
    forged = {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "alg none, no dot": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}",
        "another key": jwt.encode(claims, "another-secret-" + "y" * 40, algorithm="HS256"),
        "HS512 with the key": jwt.encode(claims, secret * 2, algorithm="HS512"),
        "expired": jwt.encode({**claims, "exp": now - 10, "iat": now - 3600}, secret, algorithm="HS256"),
        "wrong audience": jwt.encode({**claims, "aud": "someone-else"}, secret, algorithm="HS256"),
        "wrong issuer": jwt.encode({**claims, "iss": "elsewhere"}, secret, algorithm="HS256"),
        "no session version": jwt.encode({**claims, "extras": {"role": "couple"}}, secret, algorithm="HS256"),
        "older session version": jwt.encode({**claims, "extras": {"role": "couple", "sv": -1}}, secret,
                                            algorithm="HS256"),
        "role raised, signed with the key": jwt.encode({**claims, "extras": {"role": "admin", "sv": 0}}, secret,
                                                       algorithm="HS256"),
        "another account": jwt.encode({**claims, "sub": str(runtime.clock.now().timestamp())}, secret,
                                      algorithm="HS256"),
        "no token id": jwt.encode({k: v for k, v in claims.items() if k != "jti"}, secret, algorithm="HS256"),
    }
    for name, token in forged.items():
        assert await _status(client, token) == 401, name


async def test_a_deactivated_account_is_refused_everywhere(client, runtime, admin: Actor):
    await client.post("/api/v1/auth/register", json={"email": "wed@example.com", "password": "password-1",
                                                       "name": "W"})
    login = {"email": "wed@example.com", "password": "password-1"}
    token = (await client.post("/api/v1/auth/login", json=login)).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    me = (await client.get("/api/v1/me", headers=auth)).json()
    feed = (await client.post("/api/v1/calendars/feeds", json={"kind": "couple"}, headers=auth)).json()
    feed_path = "/" + feed["url"].split("://", 1)[1].split("/", 1)[1]
    assert (await client.get(feed_path)).status_code == 200
    async with replica(runtime) as other:
        assert await _status(other, token) == 200  # the other replica has read the account

        done = await client.post(f"/api/v1/users/{me['id']}/deactivate", headers=admin.headers)
        assert done.status_code == 200 and done.json()["active"] is False
        assert await _status(client, token) == 401  # at once where it was done
        assert (await client.get(feed_path)).status_code == 404  # feeds re-check on every read
        assert (await other.get(feed_path)).status_code == 404
        runtime.clock.advance(seconds=runtime.settings.account_cache_seconds + 1)
        assert await _status(other, token) == 401  # and on the other replica after the cache period
        refused = await client.post("/api/v1/auth/login", json=login)
        assert refused.status_code == 401 and refused.json()["code"] == "invalid-credentials"

        assert (await client.post(f"/api/v1/users/{me['id']}/reactivate", headers=admin.headers)).json()["active"]
        assert await _status(client, token) == 401  # tokens from before stay dead
        runtime.clock.advance(seconds=runtime.settings.account_cache_seconds + 1)
        assert await _status(other, token) == 401
        fresh = (await client.post("/api/v1/auth/login", json=login)).json()["access_token"]
        assert await _status(other, fresh) == 200
    audit = (await client.get("/api/v1/audit", headers=admin.headers)).json()["data"]
    assert [(e["action"], e["target_id"]) for e in audit if e["action"].startswith("account.")] == [
        ("account.reactivate", me["id"]), ("account.deactivate", me["id"])]


async def test_a_clerk_moved_to_another_office_loses_the_old_one(client, runtime, admin: Actor):
    office_a = await open_office(client, runtime, admin, code="A-OFFICE")
    office_b = await open_office(client, runtime, admin, code="B-OFFICE")
    clerk = await make_actor(runtime, "clerk", office_a.id)
    roster = f"/api/v1/offices/{office_a.id}/roster?date=2026-09-14"
    feed = (await client.post("/api/v1/calendars/feeds", json={"kind": "roster", "office_id": office_a.id},
                              headers=clerk.headers)).json()
    feed_path = "/" + feed["url"].split("://", 1)[1].split("/", 1)[1]
    async with replica(runtime) as other:
        assert (await other.get(roster, headers=clerk.headers)).status_code == 200
        moved = await client.put(f"/api/v1/users/{clerk.id}/office", json={"office_id": office_b.id},
                                 headers=admin.headers)
        assert moved.status_code == 200 and moved.json()["office_id"] == office_b.id
        assert (await client.get(roster, headers=clerk.headers)).status_code == 401
        assert (await other.get(feed_path)).status_code == 404
        runtime.clock.advance(seconds=runtime.settings.account_cache_seconds + 1)
        assert (await other.get(roster, headers=clerk.headers)).status_code == 401
    # a token for the new office works (after a new login)
    fresh = await make_actor(runtime, "clerk", office_b.id)
    assert (await client.get(f"/api/v1/offices/{office_b.id}/roster?date=2026-09-14",
                             headers=fresh.headers)).status_code == 200
    audit = (await client.get("/api/v1/audit?action=account.office_change", headers=admin.headers)).json()["data"]
    assert {e["office_id"] for e in audit} == {office_a.id, office_b.id}
    assert all(e["detail"] == {"from_office": office_a.id, "to_office": office_b.id} for e in audit)


async def test_logout_ends_that_session_only(client, runtime):
    await client.post("/api/v1/auth/register", json={"email": "out@example.com", "password": "password-1",
                                                       "name": "O"})
    login = {"email": "out@example.com", "password": "password-1"}
    phone = (await client.post("/api/v1/auth/login", json=login)).json()["access_token"]
    laptop = (await client.post("/api/v1/auth/login", json=login)).json()["access_token"]
    async with replica(runtime) as other:
        assert await _status(other, phone) == 200
        out = await client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {phone}"})
        assert out.status_code == 204
        assert await _status(client, phone) == 401
        assert (await client.post("/api/v1/auth/logout",
                                  headers={"Authorization": f"Bearer {phone}"})).status_code == 401
        runtime.clock.advance(seconds=runtime.settings.account_cache_seconds + 1)
        assert await _status(other, phone) == 401
        assert await _status(other, laptop) == 200 and await _status(client, laptop) == 200


async def test_who_may_deactivate_and_move(client, runtime, admin: Actor, couple: Actor):
    office = await open_office(client, runtime, admin)
    for actor in (couple, office.clerk):
        assert (await client.post(f"/api/v1/users/{admin.id}/deactivate",
                                  headers=actor.headers)).status_code == 403
    own = await client.post(f"/api/v1/users/{admin.id}/deactivate", headers=admin.headers)
    assert own.status_code == 409 and own.json()["code"] == "own-account"
    unknown = "00000000-0000-0000-0000-00000000abcd"
    assert (await client.post(f"/api/v1/users/{unknown}/deactivate", headers=admin.headers)).status_code == 404
    not_clerk = await client.put(f"/api/v1/users/{couple.id}/office", json={"office_id": office.id},
                                 headers=admin.headers)
    assert not_clerk.status_code == 409 and not_clerk.json()["code"] == "not-a-clerk"
    no_office = await client.put(f"/api/v1/users/{office.clerk.id}/office", json={"office_id": 999},
                                 headers=admin.headers)
    assert no_office.status_code == 422
    assert await _status(client, office.clerk.token) == 200  # nothing changed


async def test_tokens_from_an_old_build_without_session_claims_are_refused(client, runtime, couple: Actor):
    auth = build_jwt_auth(runtime.settings)
    old = auth.create_token(identifier=str(couple.id), token_expiration=timedelta(minutes=5),
                            token_issuer=runtime.settings.token_issuer,
                            token_audience=runtime.settings.token_audience, token_extras={"role": "couple"})
    assert await _status(client, old) == 401


async def test_a_page_logout_ends_the_session_on_the_server(client, runtime):
    from tests.web.test_pages import csrf, register

    await register(client, "pages@example.com")
    token = client.cookies.get("booking_session")
    assert token and await _status(client, token) == 200  # the page session is the API's token
    page = await client.get("/logout")
    out = await client.post("/logout", data={"_csrf_token": csrf(page.text)})
    assert out.status_code == 303
    assert await _status(client, token) == 401  # a copy of the cookie is worth nothing now


async def test_a_booking_checks_an_account_not_cached_in_its_own_write(client, runtime, admin: Actor):
    """The booking POST leaves the check of an account this process has not cached to the
    write's statement: one round trip, the same answers (401, nothing written) as the read."""
    from tests.appointments.test_appointments import body, remaining, slot_on
    from tests.factories import couple_parties
    from tests.helpers import record_calls

    office = await open_office(client, runtime, admin, capacity=3)
    slot_id = await slot_on(client, office, "2026-09-15")
    gate = runtime.account_gate
    reads = record_calls(gate, "_read")

    # a token seen for the first time books without a read of its account; the write's
    # check is cached like a read: the next request reads nothing either
    fresh = await make_actor(runtime, "couple")
    booked = await client.post("/api/v1/appointments", json=body(slot_id, couple_parties()), headers=fresh.headers)
    assert booked.status_code == 201, booked.text
    assert (await client.get("/api/v1/me", headers=fresh.headers)).status_code == 200
    assert reads == []

    # logged out on another replica (here: its cached state forgotten, as another process
    # never had it), deactivated, or moved to another session version: the write refuses
    # with 401 and writes nothing
    ended, deactivated = await make_actor(runtime, "couple"), await make_actor(runtime, "couple")
    assert (await client.post("/api/v1/auth/logout", headers=ended.headers)).status_code == 204
    assert (await client.post(f"/api/v1/users/{deactivated.id}/deactivate", headers=admin.headers)).status_code == 200
    gate.forget(ended.id)
    gate.forget(deactivated.id)
    reads.clear()
    for actor in (ended, deactivated):
        refused = await client.post("/api/v1/appointments", json=body(slot_id, couple_parties()),
                                    headers=actor.headers)
        assert refused.status_code == 401 and refused.headers["content-type"].startswith("application/problem+json")
    assert reads == []
    assert await remaining(client, office, slot_id) == 2
    async with runtime.db.raw() as conn:
        held = await conn.fetchval("SELECT count(*) FROM appointment WHERE account_id = ANY($1::uuid[])",
                                   [ended.id, deactivated.id])
        bound = await conn.fetchval("SELECT count(*) FROM user_account WHERE id = ANY($1::uuid[]) "
                                    "AND id_hash IS NOT NULL", [ended.id, deactivated.id])
    assert held == 0 and bound == 0

    # an answer before the write (a body the rules refuse) is the same for any token, and
    # writes nothing; the retry of a keyed request is checked first, as it may replay
    assert (await client.post("/api/v1/appointments", json=body(slot_id, couple_parties()[:1]),
                              headers=ended.headers)).status_code == 422
    keyed = {**ended.headers, "Idempotency-Key": "after-logout"}
    assert (await client.post("/api/v1/appointments", json=body(slot_id, couple_parties()),
                              headers=keyed)).status_code == 401
    assert len(reads) == 1
