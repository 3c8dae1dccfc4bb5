"""A slot the database just called full is refused from memory for a stated moment:
refusals only, never acceptances, and a retried success still gets its first answer."""

from __future__ import annotations

import pytest

from tests.factories import couple_parties, make_actor, open_office
from tests.helpers import record_calls
from tests.appointments.test_appointments import body, remaining, slot_on

pytestmark = pytest.mark.asyncio


async def test_full_slot_refused_from_memory_until_it_lapses(client, runtime, admin):
    memory = runtime.sold_out
    memory.seconds = 1.0
    ticks = [1000.0]  # the memory's clock, moved by hand: the test does not race the machine's load
    memory.monotonic = lambda: ticks[0]
    office = await open_office(client, runtime, admin, capacity=2)
    slot_id = await slot_on(client, office, "2026-09-15")
    first, second, third = [await make_actor(runtime, "couple") for _ in range(3)]
    keyed = {**first.headers, "Idempotency-Key": "first-1"}
    request = body(slot_id, couple_parties())
    booked = await client.post("/api/v1/appointments", json=request, headers=keyed)
    assert booked.status_code == 201
    assert not memory.is_full(slot_id)  # a seat is left: nothing to remember
    last = await client.post("/api/v1/appointments", json=body(slot_id, couple_parties()), headers=second.headers)
    assert last.status_code == 201
    assert memory.is_full(slot_id)  # that booking took the last seat, and the write said so
    full = await client.post("/api/v1/appointments", json=body(slot_id, couple_parties()), headers=third.headers)
    assert full.status_code == 409 and full.json()["code"] == "slot-full"
    # the seat comes free through the database; this process still refuses for the moment
    assert (await client.post(f"/api/v1/appointments/{booked.json()['id']}/cancel",
                              headers=first.headers)).status_code == 200
    assert await remaining(client, office, slot_id) == 1
    from_memory = await client.post("/api/v1/appointments", json=body(slot_id, couple_parties()),
                                    headers=third.headers)
    assert from_memory.status_code == 409 and from_memory.json()["code"] == "slot-full"
    assert await remaining(client, office, slot_id) == 1  # nothing was written
    # a retry of the request that had succeeded still gets its first answer
    replay = await client.post("/api/v1/appointments", json=request, headers=keyed)
    assert replay.status_code == 201 and replay.json()["id"] == booked.json()["id"]
    ticks[0] += 1.01  # the stated moment has passed: the database is asked again
    again = await client.post("/api/v1/appointments", json=body(slot_id, couple_parties()), headers=third.headers)
    assert again.status_code == 201, again.text
    assert await remaining(client, office, slot_id) == 0


async def test_a_refusal_by_the_database_is_remembered(client, runtime, admin):
    """Another process took the last seat: this one learns it from the write's refusal."""
    memory = runtime.sold_out
    memory.seconds = 1.0
    memory.monotonic = lambda: 1000.0
    office = await open_office(client, runtime, admin, capacity=1)
    slot_id = await slot_on(client, office, "2026-09-15")
    first, second = [await make_actor(runtime, "couple") for _ in range(2)]
    assert (await client.post("/api/v1/appointments", json=body(slot_id, couple_parties()),
                              headers=first.headers)).status_code == 201
    memory.forget(slot_id)  # as if the last seat had been taken through another process
    assert not memory.is_full(slot_id)
    refused = await client.post("/api/v1/appointments", json=body(slot_id, couple_parties()), headers=second.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "slot-full"
    assert memory.is_full(slot_id)  # the database said so


async def test_memory_off_asks_the_database_every_time(client, runtime, admin):
    memory = runtime.sold_out
    memory.seconds = 0
    office = await open_office(client, runtime, admin, capacity=1)
    slot_id = await slot_on(client, office, "2026-09-15")
    first, second = [await make_actor(runtime, "couple") for _ in range(2)]
    booked = await client.post("/api/v1/appointments", json=body(slot_id, couple_parties()), headers=first.headers)
    assert (await client.post("/api/v1/appointments", json=body(slot_id, couple_parties()),
                              headers=second.headers)).status_code == 409
    assert not memory.is_full(slot_id)
    await client.post(f"/api/v1/appointments/{booked.json()['id']}/cancel", headers=first.headers)
    assert (await client.post("/api/v1/appointments", json=body(slot_id, couple_parties()),
                              headers=second.headers)).status_code == 201


async def test_refusal_from_memory_comes_before_the_account_check(client, runtime, admin):
    memory = runtime.sold_out
    memory.seconds = 1.0
    memory.monotonic = lambda: 1000.0  # the moment never lapses in this test
    office = await open_office(client, runtime, admin, capacity=1)
    slot_id = await slot_on(client, office, "2026-09-15")
    first, second, third = [await make_actor(runtime, "couple") for _ in range(3)]
    keyed = {**first.headers, "Idempotency-Key": "first-1"}
    request = body(slot_id, couple_parties())
    assert (await client.post("/api/v1/appointments", json=request, headers=keyed)).status_code == 201
    assert (await client.post("/api/v1/appointments", json=body(slot_id, couple_parties()),
                              headers=second.headers)).status_code == 409
    assert memory.is_full(slot_id)

    reads = record_calls(runtime.account_gate, "_read")
    refused = await client.post("/api/v1/appointments", json=body(slot_id, couple_parties()),
                                headers=third.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "slot-full"
    assert reads == []  # a new account's refusal read nothing of it

    # Logged out: a remembered-full slot still answers "full" (public knowledge, nothing
    # written, nothing of the account's own); anything else, the retry of its success
    # included, is 401.
    assert (await client.post("/api/v1/auth/logout", headers=first.headers)).status_code == 204
    refused = await client.post("/api/v1/appointments", json=body(slot_id, couple_parties()),
                                headers=first.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "slot-full"
    assert (await client.post("/api/v1/appointments", json=request, headers=keyed)).status_code == 401
    other = await slot_on(client, office, "2026-09-16")
    assert (await client.post("/api/v1/appointments", json=body(other, couple_parties()),
                              headers=first.headers)).status_code == 401
    assert len(reads) == 1  # read when first needed after the logout (then cached)
