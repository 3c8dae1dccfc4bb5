"""Abuse limits: login throttling with growing delays (no lockout, no enumeration), request
rate limits per client address and per account, shared by replicas through Redis."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from booking.app import create_app
from booking.runtime import Runtime
from booking.security.ratelimit import client_address
from booking.settings import Settings
from tests.conftest import REDIS_URL, make_settings, running
from tests.factories import couple_parties, open_office
from tests.appointments.test_appointments import body, slot_on


def _address() -> str:
    """A client address of this test alone (counters in the shared Redis outlive a test)."""
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


@asynccontextmanager
async def client_from(app: Any, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _register(client: httpx.AsyncClient, email: str) -> None:
    response = await client.post("/api/v1/auth/register", json={"email": email, "password": "right-password",
                                                                  "name": "N"})
    assert response.status_code == 201, response.text


async def _attempts(client: httpx.AsyncClient, email: str, password: str, n: int) -> list[tuple[int, str, Any]]:
    out = []
    for _ in range(n):
        r = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
        out.append((r.status_code, r.json().get("code"), r.headers.get("retry-after")))
    return out


@pytest.mark.asyncio
async def test_login_throttle_grows_and_never_tells_who_exists(app, client, runtime):
    await _register(client, "known@example.com")
    known = await _attempts(client, "known@example.com", "wrong-password", 6)
    unknown = await _attempts(client, "nobody@example.com", "wrong-password", 6)
    # the same answers for an account that exists and one that does not
    assert known == unknown
    assert [k[:2] for k in known[:3]] == [(401, "invalid-credentials")] * 3
    assert all(k[:2] == (429, "login-throttled") for k in known[3:])
    # while throttled even the right password gets the same answer
    assert (await _attempts(client, "known@example.com", "right-password", 1))[0][:2] == (429, "login-throttled")
    # growing delays: wait out one, fail again, the next wait is longer
    first_wait = int(known[3][2])
    runtime.clock.advance(seconds=first_wait)
    assert (await _attempts(client, "known@example.com", "wrong-password", 1))[0][0] == 401
    second_wait = int((await _attempts(client, "known@example.com", "right-password", 1))[0][2])
    assert second_wait > first_wait
    runtime.clock.advance(seconds=second_wait)
    ok = await client.post("/api/v1/auth/login", json={"email": "known@example.com", "password": "right-password"})
    assert ok.status_code == 200


@pytest.mark.asyncio
async def test_nobody_can_lock_a_clerk_out_from_elsewhere(app, client, runtime):
    await _register(client, "clerk-like@example.com")
    # an attacker tries from many addresses
    for _ in range(12):
        async with client_from(app, _address()) as attacker:
            await _attempts(attacker, "clerk-like@example.com", "guess-guess", 1)
    async with client_from(app, _address()) as owner:
        waiting = (await _attempts(owner, "clerk-like@example.com", "right-password", 1))[0]
        # the e-mail's own key slows everyone down a little, never for long
        assert waiting[0] == 429 and int(waiting[2]) <= 60
        runtime.clock.advance(seconds=int(waiting[2]))
        ok = await owner.post("/api/v1/auth/login", json={"email": "clerk-like@example.com",
                                                           "password": "right-password"})
        assert ok.status_code == 200


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rate_limits_enabled": True, "rate_limits": {"booking": (2, 1000, 60), "register": (0, 3, 3600)}}


@pytest.mark.asyncio
async def test_bookings_are_limited_per_account(client, runtime, admin, couple):
    office = await open_office(client, runtime, admin, capacity=10)
    slot = await slot_on(client, office, "2026-09-15")
    parties = couple_parties()
    answers = []
    for _ in range(3):  # refused requests count too: a booking bot's retries are what is limited
        r = await client.post("/api/v1/appointments", json=body(slot, parties), headers=couple.headers)
        answers.append(r)
    assert [r.status_code for r in answers[:2]] == [201, 409]
    limited = answers[2]
    assert limited.status_code == 429 and limited.json()["code"] == "rate-limited"
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(limited.headers["retry-after"]) <= 61
    # the next window lets the account book again
    runtime.clock.advance(seconds=61)
    await client.post(f"/api/v1/appointments/{answers[0].json()['id']}/cancel", headers=couple.headers)
    again = await client.post("/api/v1/appointments", json=body(slot, parties), headers=couple.headers)
    assert again.status_code == 201


@pytest.mark.asyncio
async def test_registrations_are_limited_per_address(app):
    address = _address()
    async with client_from(app, address) as client:
        for n in range(3):
            await _register(client, f"r{n}@example.com")
        limited = await client.post("/api/v1/auth/register", json={"email": "r9@example.com",
                                                                    "password": "right-password", "name": "N"})
        assert limited.status_code == 429 and "retry-after" in limited.headers
    async with client_from(app, _address()) as elsewhere:
        await _register(elsewhere, "r9@example.com")


@pytest.mark.asyncio
async def test_replicas_share_the_counters_through_redis(clean_db, tmp_path, clock):
    settings = make_settings(clean_db, tmp_path, redis_url=REDIS_URL, rate_limits_enabled=True,
                             rate_limits={"register": (0, 2, 3600)})
    address = _address()
    runtimes = [Runtime.build(settings, clock=clock) for _ in range(2)]
    try:
        async with running(create_app(runtime=runtimes[0])) as one, running(create_app(runtime=runtimes[1])) as two:
            async with client_from(one, address) as a, client_from(two, address) as b:
                await _register(a, "one@example.com")
                await _register(b, "two@example.com")
                assert (await a.post("/api/v1/auth/register", json={
                    "email": "three@example.com", "password": "right-password", "name": "N"})).status_code == 429
    finally:
        for rt in runtimes:
            await rt.close()


def test_forwarded_for_is_believed_from_trusted_proxies_only():
    scope = {"client": ("127.0.0.1", 5000), "headers": [(b"x-forwarded-for", b"6.6.6.6, 1.2.3.4, 10.0.0.2")]}
    assert client_address(scope, []) == "127.0.0.1"  # no proxy configured: the peer
    assert client_address(scope, ["127.0.0.1"]) == "10.0.0.2"
    # the right-most address that is not a proxy: what the client wrote itself is ignored
    assert client_address(scope, ["127.0.0.1", "10.0.0.0/8"]) == "1.2.3.4"
    assert client_address({**scope, "client": ("8.8.8.8", 1)}, ["127.0.0.1", "10.0.0.0/8"]) == "8.8.8.8"
    assert client_address({"client": ("127.0.0.1", 1), "headers": []}, ["127.0.0.1"]) == "127.0.0.1"
    with pytest.raises(ValidationError):  # "*" would let any client claim any address
        Settings(trusted_proxies=["*"])
