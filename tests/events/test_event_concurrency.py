"""Event capacity and the waitlist under real concurrency: many HTTP clients at once against a
uvicorn server on a real socket, on PostgreSQL (DESIGN.md 4.1)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from booking.app import create_app
from booking.runtime import Runtime
from tests.events_helpers import distinct_couples, event_body, signup_body
from tests.factories import couple_parties, create_office, make_actor, make_couples
from tests.helpers import live_server


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # Sign-ups to one event queue on its row lock: more connections would only wait longer
    # (and the PostgreSQL server is shared).
    return {"db_pool_size": 12, "db_max_overflow": 4}


@pytest.fixture
def server(runtime: Runtime) -> Iterator[str]:
    # The server gets its own runtime: its engine lives on the server thread's event loop.
    server_rt = Runtime.build(runtime.settings, clock=runtime.clock)
    server_rt.run_in_process_jobs = False
    with live_server(create_app(runtime=server_rt, close_runtime=True)) as url:
        yield url


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=60) as client:
        yield client


class Crowd:
    """Many clients, each with a few connections (64 in all): every request of a batch is
    sent at once. (One client with 300 requests queued spends its time in httpcore's
    pool bookkeeping, which grows with the square of the queue.)"""

    def __init__(self, clients: list[httpx.AsyncClient]) -> None:
        self.clients = clients

    async def all(self, method: str, requests: list[tuple[str, dict[str, Any] | None, dict[str, str]]]) -> list[Any]:
        return await asyncio.gather(*(
            self.clients[i % len(self.clients)].request(method, path, json=body, headers=headers)
            for i, (path, body, headers) in enumerate(requests)))


@pytest.fixture
async def crowd(server: str) -> AsyncIterator[Crowd]:
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    clients = [httpx.AsyncClient(base_url=server, limits=limits, timeout=60) for _ in range(16)]
    try:
        yield Crowd(clients)
    finally:
        for client in clients:
            await client.aclose()


async def _event(http: httpx.AsyncClient, runtime: Runtime, **overrides: Any) -> tuple[str, Any]:
    admin = await make_actor(runtime, "admin")
    office = await create_office(http, admin)
    clerk = await make_actor(runtime, "clerk", office["id"])
    response = await http.post("/api/v1/events", json=event_body(office["id"], **overrides), headers=clerk.headers)
    assert response.status_code == 201, response.text
    return response.json()["id"], clerk


async def _state(runtime: Runtime, event_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    async with runtime.db.raw() as conn:
        event = dict(await conn.fetchrow(
            "SELECT capacity, places_taken, guest_seats, guest_seats_taken, waitlisted, arrivals FROM event "
            "WHERE id = $1", uuid.UUID(event_id)))
        signups = [dict(r) for r in await conn.fetch(
            "SELECT id, status, arrival_no, guests, promoted_at FROM signup WHERE event_id = $1 ORDER BY arrival_no",
            uuid.UUID(event_id))]
    return event, signups


def _assert_counters(event: dict[str, Any], signups: list[dict[str, Any]]) -> None:
    holding = [s for s in signups if s["status"] in ("confirmed", "pending_approval", "attended", "no_show")]
    assert event["places_taken"] == len(holding) <= event["capacity"]
    assert event["guest_seats_taken"] == sum(s["guests"] for s in holding) <= event["guest_seats"]
    assert event["waitlisted"] == sum(1 for s in signups if s["status"] == "waitlisted")


async def _promotion_rows(runtime: Runtime) -> Counter[uuid.UUID]:
    async with runtime.db.raw() as conn:
        rows = await conn.fetch("SELECT subject_id FROM notification WHERE kind = 'signup.promoted' "
                                "AND channel = 'email'")
    return Counter(r["subject_id"] for r in rows)


async def test_300_couples_for_50_places_then_30_cancellations(http, crowd, runtime):
    event_id, _clerk = await _event(http, runtime, capacity=50)
    couples = await make_couples(runtime, 300)
    bodies = [signup_body(parties) for parties in distinct_couples(300)]

    responses = await crowd.all("POST", [(f"/api/v1/events/{event_id}/signups", body, couple.headers)
                                         for couple, body in zip(couples, bodies, strict=True)])
    assert Counter(r.status_code for r in responses) == {201: 300}, [r.text for r in responses if r.status_code != 201][:3]
    answers = [r.json() for r in responses]
    assert Counter(a["status"] for a in answers) == {"confirmed": 50, "waitlisted": 250}
    # arrival order is the order the event's row lock granted: places to the first 50
    # arrivals, waitlist positions 1..250 to the rest, in the same order
    assert sorted(a["arrival_no"] for a in answers) == list(range(1, 301))
    assert sorted(a["arrival_no"] for a in answers if a["status"] == "confirmed") == list(range(1, 51))
    assert all(a["waitlist_position"] == a["arrival_no"] - 50 for a in answers if a["status"] == "waitlisted")
    event, signups = await _state(runtime, event_id)
    _assert_counters(event, signups)
    assert (event["places_taken"], event["waitlisted"], event["arrivals"]) == (50, 250, 300)
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM signup_party WHERE active") == 600
        # the outbox holds the message of each couple's own outcome, and only that one; a
        # waitlisted couple's names the position its answer gave
        told = {(r["subject_id"], r["kind"]): r["position"] for r in await conn.fetch(
            "SELECT subject_id, kind, payload->>'position' AS position FROM notification "
            "WHERE subject_type = 'signup' AND channel = 'email' AND kind <> 'event.reminder'")}
        reminded = await conn.fetchval("SELECT count(*) FROM notification WHERE kind = 'event.reminder' "
                                       "AND channel = 'email'")
    assert len(told) == 300 and reminded == 50  # the day-before reminder: the confirmed only
    for a in answers:
        kind = "signup.confirmed" if a["status"] == "confirmed" else "signup.waitlisted"
        position = told[(uuid.UUID(a["id"]), kind)]
        assert position == (str(a["waitlist_position"]) if a["status"] == "waitlisted" else None)

    # 30 confirmed couples cancel at once: each frees a place that the head of the waitlist takes
    leaving = [(a, c) for a, c in zip(answers, couples, strict=True) if a["status"] == "confirmed"][::-1][:30]
    cancels = await crowd.all("POST", [(f"/api/v1/signups/{a['id']}/cancel", None, c.headers) for a, c in leaving])
    assert Counter(r.status_code for r in cancels) == {200: 30}
    event, signups = await _state(runtime, event_id)
    _assert_counters(event, signups)
    promoted = [s for s in signups if s["promoted_at"] is not None]
    assert [s["arrival_no"] for s in promoted] == list(range(51, 81))  # exactly the first 30 waiting, in order
    assert all(s["status"] == "confirmed" for s in promoted)
    assert (event["places_taken"], event["waitlisted"]) == (50, 220)
    told = await _promotion_rows(runtime)
    assert set(told) == {s["id"] for s in promoted} and set(told.values()) == {1}  # each promoted once
    still = [s for s in signups if s["status"] == "waitlisted"]
    assert [s["arrival_no"] for s in still] == list(range(81, 301))
    positions = await asyncio.gather(*(http.get(f"/api/v1/signups/{a['id']}", headers=c.headers)
                                       for a, c in zip(answers, couples, strict=True) if a["arrival_no"] in (81, 300)))
    assert sorted(p.json()["waitlist_position"] for p in positions) == [1, 220]


def _simulate(guests: list[int], capacity: int, seats: int, skip: bool) -> set[int]:
    """Which arrivals get a place, by the event's rule, in arrival order."""
    placed: set[int] = set()
    used, waiting = 0, False
    for arrival, g in enumerate(guests, start=1):
        if len(placed) < capacity and used + g <= seats and (skip or not waiting):
            placed.add(arrival)
            used += g
        else:
            waiting = True
    return placed


def _nobody_waits_who_fits(event: dict[str, Any], signups: list[dict[str, Any]],
                           skip: bool) -> list[dict[str, Any]]:
    """After every change nobody waits who could have a place: with strict order the head of
    the queue does not fit the free seats; when fitting couples may pass, none of them fits.
    Returns the waiting couples in arrival order."""
    free_places = event["capacity"] - event["places_taken"]
    free_seats = event["guest_seats"] - event["guest_seats_taken"]
    waiting = [s for s in signups if s["status"] == "waitlisted"]
    # the seats run out long before the places (see the test), so a place is always free
    # and the check below always bites
    assert free_places > 0
    blockers = waiting if skip else waiting[:1]
    assert all(s["guests"] > free_seats for s in blockers), (free_seats, [s["guests"] for s in blockers])
    return waiting


async def _assert_told_once(runtime: Runtime, signups: list[dict[str, Any]]) -> set[uuid.UUID]:
    told = await _promotion_rows(runtime)
    promoted = {s["id"] for s in signups if s["promoted_at"] is not None}
    assert set(told) == promoted and set(told.values()) <= {1}
    return promoted


@pytest.mark.parametrize("skip", [False, True])
async def test_guest_seats_hold_as_a_second_limit_under_load(http, crowd, runtime, skip):
    # 70 guest seats bind first: 30 couples of each of 0..3 guests fill at most
    # 30 + 30 + 20 = 80 places of 90, so places stay free and couples keep waiting
    event_id, clerk = await _event(http, runtime, capacity=90, guests_per_couple=3, guest_seats=70,
                                   waitlist_skip_unfit=skip)
    couples = await make_couples(runtime, 121)
    people = distinct_couples(121)
    responses = await crowd.all("POST", [  # 0..3 guests, mixed
        (f"/api/v1/events/{event_id}/signups", signup_body(parties, guests=(i * 7) % 4), c.headers)
        for i, (c, parties) in enumerate(zip(couples[:120], people[:120], strict=True))])
    assert Counter(r.status_code for r in responses) == {201: 120}
    event, signups = await _state(runtime, event_id)
    _assert_counters(event, signups)
    by_arrival = [s["guests"] for s in signups]
    expected = _simulate(by_arrival, 90, 70, skip)
    assert {s["arrival_no"] for s in signups if s["status"] == "confirmed"} == expected
    assert event["guest_seats_taken"] <= 70 and event["places_taken"] <= 90
    assert _nobody_waits_who_fits(event, signups, skip)

    # 20 couples holding places and seats leave at once: their seats go down the queue
    owner = {r.json()["id"]: c for r, c in zip(responses, couples[:120], strict=True)}
    leaving = [s for s in signups if s["status"] == "confirmed" and s["guests"] > 0][:20]
    cancels = await crowd.all("POST", [(f"/api/v1/signups/{s['id']}/cancel", None, owner[str(s["id"])].headers)
                                       for s in leaving])
    assert Counter(r.status_code for r in cancels) == {200: 20}
    event, signups = await _state(runtime, event_id)
    _assert_counters(event, signups)
    assert _nobody_waits_who_fits(event, signups, skip)
    await _assert_told_once(runtime, signups)

    # a couple without guests arrives: with strict order they queue behind the head that
    # does not fit (so a fitting couple waits in the queue); otherwise they go straight in
    last = await http.post(f"/api/v1/events/{event_id}/signups", json=signup_body(people[120]),
                           headers=couples[120].headers)
    assert last.status_code == 201 and last.json()["status"] == ("confirmed" if skip else "waitlisted")
    owner[last.json()["id"]] = couples[120]
    event, signups = await _state(runtime, event_id)
    free_seats = event["guest_seats"] - event["guest_seats_taken"]
    waiting = _nobody_waits_who_fits(event, signups, skip)
    promoted_before = await _assert_told_once(runtime, signups)

    # waitlisted couples leave at once, one rejected by the organiser, the others cancelling:
    # with strict order, every couple ahead of the first who fits; otherwise the first ten
    if skip:
        leaving = waiting[:10]
        first_fitting = None
    else:
        first_fitting = next(s for s in waiting if s["guests"] <= free_seats)
        leaving = [s for s in waiting if s["arrival_no"] < first_fitting["arrival_no"]]
    assert leaving  # the head of the queue is among them
    rejected = await http.post(f"/api/v1/signups/{leaving[0]['id']}/decision", headers=clerk.headers,
                               json={"decision": "reject", "reason": "名额调整"})
    assert rejected.status_code == 200, rejected.text
    cancels = await crowd.all("POST", [(f"/api/v1/signups/{s['id']}/cancel", None, owner[str(s["id"])].headers)
                                       for s in leaving[1:]])
    assert Counter(r.status_code for r in cancels) == ({200: len(leaving) - 1} if leaving[1:] else {})
    event, signups = await _state(runtime, event_id)
    _assert_counters(event, signups)
    waiting = _nobody_waits_who_fits(event, signups, skip)
    promoted = await _assert_told_once(runtime, signups)
    if skip:  # nobody waiting fitted before, and a leaving waitlisted couple frees no seat
        assert promoted == promoted_before
    else:  # the couple who fits no longer waits behind anyone: promoted in that transaction
        assert first_fitting is not None and first_fitting["id"] in promoted
        # strict order: promotions are a prefix of the queue
        first_waiting = min((s["arrival_no"] for s in waiting), default=10**9)
        assert all(s["arrival_no"] < first_waiting for s in signups if s["id"] in promoted)


async def test_one_person_many_signups_and_one_key_many_retries_at_once(http, crowd, runtime):
    event_id, _clerk = await _event(http, runtime, capacity=5)
    people = distinct_couples(11)
    bride = people[0][1]
    accounts = await make_couples(runtime, 11)
    # the same bride with ten different grooms, from ten accounts, all at once: one place
    attempts = await crowd.all("POST", [(f"/api/v1/events/{event_id}/signups",
                                         signup_body([people[i][0], bride]), accounts[i].headers)
                                        for i in range(1, 11)])
    assert Counter(r.status_code for r in attempts) == {201: 1, 409: 9}
    assert {r.json()["code"] for r in attempts if r.status_code == 409} == {"already-signed-up"}
    assert {r.json()["party"] for r in attempts if r.status_code == 409} == {2}
    # one couple's client retries twenty times with one Idempotency-Key: one sign-up, one answer
    headers = {**accounts[0].headers, "Idempotency-Key": "retry-signup-1"}
    body = signup_body(couple_parties(groom_birth=date(1985, 5, 5), bride_birth=date(1987, 7, 7)))
    retries = await crowd.all("POST", [(f"/api/v1/events/{event_id}/signups", body, headers)] * 20)
    assert [r.status_code for r in retries] == [201] * 20 and len({r.text for r in retries}) == 1
    event, signups = await _state(runtime, event_id)
    _assert_counters(event, signups)
    assert (event["places_taken"], len(signups)) == (2, 2)


async def test_one_key_many_event_creations_at_once(http, crowd, runtime):
    admin = await make_actor(runtime, "admin")
    office = await create_office(http, admin)
    clerk = await make_actor(runtime, "clerk", office["id"])
    headers = {**clerk.headers, "Idempotency-Key": "create-event-1"}
    body = event_body(office["id"])
    retries = await crowd.all("POST", [("/api/v1/events", body, headers)] * 20)
    assert [r.status_code for r in retries] == [201] * 20 and len({r.text for r in retries}) == 1
    # the same key with another body, at once with more retries: refused, nothing created
    mixed = await crowd.all("POST", [("/api/v1/events", body, headers)] * 5
                            + [("/api/v1/events", event_body(office["id"], capacity=11), headers)] * 5)
    assert [r.status_code for r in mixed] == [201] * 5 + [409] * 5
    assert {r.text for r in mixed[:5]} == {retries[0].text}
    assert {r.json()["code"] for r in mixed[5:]} == {"idempotency-key-reused"}
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM event") == 1
        assert await conn.fetchval("SELECT count(*) FROM audit_entry WHERE action = 'event.create'") == 1
