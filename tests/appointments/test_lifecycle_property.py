"""A property of the appointment lifecycle: whatever a couple, a clerk and the calendar do, in
whatever order, the books stay true. Hypothesis draws sequences of book / cancel /
reschedule / check-in / turn away / no-show / closure / reopen / special opening add and
remove over a few days of one office, sent through the HTTP API on PostgreSQL; after every
step, for every slot, ``booked`` equals its active appointments, no active appointment
stands on a closed slot, every person holds at most one active booking per service (and
their parties' active marks say so), and nothing answered a 500.

Bounded: a fixed number of examples, derandomized (the same sequences on every run)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from booking.clock import FixedClock
from booking.runtime import Runtime
from tests.conftest import DEFAULT_NOW
from tests.factories import Actor, create_office, make_actor, phone, resident_id, weekday_schedule

pytestmark = pytest.mark.asyncio
SH = ZoneInfo("Asia/Shanghai")
DAYS = ("2026-09-14", "2026-09-15", "2026-09-16", "2026-09-19")  # Monday to Wednesday, and a Saturday
# the days closed, reopened and opened specially: a working day and a weekend
CHANGING = ("2026-09-16", "2026-09-19")
CHANGES = ("cancel", "office_cancel", "reschedule", "check_in", "turn_away", "no_show")
DAY_CHANGES = ("closure", "reopen", "opening_add", "opening_remove", "slot_close", "slot_reopen")
_offices = itertools.count(1)

# a third each: bookings (most changes need something booked), changes of an appointment,
# changes of a day
step = st.tuples(st.one_of(st.just("book"), st.sampled_from(CHANGES), st.sampled_from(DAY_CHANGES)),
                 st.integers(0, 3), st.integers(0, 11))


@dataclass
class World:
    client: httpx.AsyncClient
    runtime: Runtime
    clock: FixedClock
    office_id: int
    clerk: Actor
    couples: list[tuple[Actor, list[dict[str, Any]]]]
    appointments: list[tuple[str, Actor]] = field(default_factory=list)
    exceptions: dict[str, str] = field(default_factory=dict)  # day -> "closure" | "opening", as added

    async def slots(self) -> list[dict[str, Any]]:
        response = await self.client.get(f"/api/v1/offices/{self.office_id}/slots",
                                         params={"from": DAYS[0], "to": DAYS[-1]}, headers=self.clerk.headers)
        return response.json()["data"]

    async def appointment(self, index: int) -> tuple[dict[str, Any], Actor] | None:
        if not self.appointments:
            return None
        appointment_id, couple = self.appointments[index % len(self.appointments)]
        response = await self.client.get(f"/api/v1/appointments/{appointment_id}", headers=self.clerk.headers)
        return response.json(), couple


async def _world(client: httpx.AsyncClient, runtime: Runtime, clock: FixedClock, admin: Actor) -> World:
    """A fresh office with two seats per slot, and six couples of people never seen before."""
    n = next(_offices)
    clock.set(DEFAULT_NOW)
    office = await create_office(client, admin, code=f"PROP-{n}")
    clerk = await make_actor(runtime, "clerk", office["id"])
    await client.put(f"/api/v1/offices/{office['id']}/schedule", json=weekday_schedule(capacity=2),
                     headers=clerk.headers)
    await client.post(f"/api/v1/offices/{office['id']}/slots/generate",
                      json={"from": DAYS[0], "to": DAYS[-1]}, headers=clerk.headers)
    born = date(1970, 1, 1) + timedelta(days=20 * n)
    men = [resident_id(born + timedelta(days=i), "M") for i in range(3)]
    women = [resident_id(born + timedelta(days=i), "F") for i in range(3)]
    couples = []
    for i in range(6):  # people recur across couples: man i % 3 with woman (i // 2) % 3
        parties = [{"name": "张伟", "id_number": men[i % 3], "phone": phone(), "hukou_province": "44"},
                   {"name": "李娜", "id_number": women[(i // 2) % 3], "phone": phone(), "hukou_province": "44"}]
        couples.append((await make_actor(runtime, "couple"), parties))
    return World(client, runtime, clock, office["id"], clerk, couples)


async def _act(world: World, action: str, a: int, b: int) -> httpx.Response | None:
    client, clerk, office = world.client, world.clerk, world.office_id
    world.clock.set(DEFAULT_NOW)
    day = CHANGING[a % len(CHANGING)]
    if action == "book":
        slots = await world.slots()
        if not slots:
            return None
        couple, parties = world.couples[a]
        response = await client.post("/api/v1/appointments", headers=couple.headers, json={
            "slot_id": slots[b % len(slots)]["id"], "service": "marriage_registration", "parties": parties})
        if response.status_code == 201:
            world.appointments.append((response.json()["id"], couple))
        return response
    if action in ("slot_close", "slot_reopen"):  # a clerk's hand on one slot of the day
        listed = await client.get(f"/api/v1/offices/{office}/slots?from={day}&to={day}", headers=clerk.headers)
        day_slots = listed.json()["data"]
        if not day_slots:
            return None
        status = "closed" if action == "slot_close" else "open"
        return await client.patch(f"/api/v1/slots/{day_slots[b % len(day_slots)]['id']}",
                                  json={"status": status}, headers=clerk.headers)
    if action in ("reopen", "opening_remove"):  # mostly undo what was done (else a 404)
        kind = "closure" if action == "reopen" else "opening"
        done = sorted(d for d, k in world.exceptions.items() if k == kind)
        day = done[a % len(done)] if done and b % 4 else day
        path = "closures" if action == "reopen" else "special-openings"
        response = await client.delete(f"/api/v1/offices/{office}/{path}/{day}", headers=clerk.headers)
        if response.status_code == 204:
            del world.exceptions[day]
        return response
    if action == "closure":
        response = await client.post(f"/api/v1/offices/{office}/closures", json={"date": day},
                                     headers=clerk.headers)
    elif action == "opening_add":
        evening = {"start": "18:00", "end": "19:00", "capacities": {"marriage_registration": 2}}
        response = await client.post(f"/api/v1/offices/{office}/special-openings", headers=clerk.headers,
                                     json={"date": day, "windows": [evening]})
        await client.post(f"/api/v1/offices/{office}/slots/generate", json={"from": day, "to": day},
                          headers=clerk.headers)
    if action in ("closure", "opening_add"):
        if response.status_code == 201:
            world.exceptions[day] = "closure" if action == "closure" else "opening"
        return response
    found = await world.appointment(b)
    if found is None:
        return None
    appt, couple = found
    path = f"/api/v1/appointments/{appt['id']}"
    starts = datetime.fromisoformat(appt["starts_at"])
    if action == "cancel":
        return await client.post(f"{path}/cancel", headers=couple.headers)
    if action == "office_cancel":
        return await client.post(f"{path}/cancel", headers=clerk.headers)
    if action == "reschedule":
        slots = await world.slots()
        return await client.post(f"{path}/reschedule", json={"slot_id": slots[a % len(slots)]["id"]},
                                 headers=couple.headers)
    if action in ("check_in", "turn_away"):
        world.clock.set(starts.replace(hour=8, minute=50))
        if action == "check_in":
            return await client.post(f"{path}/check-in", headers=clerk.headers)
        return await client.post(f"{path}/turn-away", json={"reason": "证件不全"}, headers=clerk.headers)
    world.clock.set(starts + timedelta(minutes=30))
    return await client.post(f"{path}/no-show", headers=clerk.headers)


async def _books_are_true(runtime: Runtime) -> None:
    async with runtime.db.raw() as conn:
        miscounted = await conn.fetch(
            "SELECT s.id, s.booked, count(a.id) AS active FROM slot s "
            "LEFT JOIN appointment a ON a.slot_id = s.id "
            "AND a.status IN ('pending_review', 'confirmed', 'checked_in') GROUP BY s.id "
            "HAVING s.booked <> count(a.id)")
        on_closed = await conn.fetch(
            "SELECT a.id FROM appointment a JOIN slot s ON s.id = a.slot_id WHERE s.status = 'closed' "
            "AND a.status IN ('pending_review', 'confirmed', 'checked_in')")
        twice = await conn.fetch(
            "SELECT p.id_hash FROM appointment_party p JOIN appointment a ON a.id = p.appointment_id "
            "WHERE a.status IN ('pending_review', 'confirmed', 'checked_in') GROUP BY p.id_hash, p.service "
            "HAVING count(*) > 1")
        marks = await conn.fetch(
            "SELECT p.id FROM appointment_party p JOIN appointment a ON a.id = p.appointment_id "
            "WHERE p.active <> (a.status IN ('pending_review', 'confirmed', 'checked_in'))")
    assert miscounted == [], "a slot's count is not its active appointments"
    assert on_closed == [], "an active appointment stands on a closed slot"
    assert twice == [], "a person holds two active bookings of one service"
    assert marks == [], "a party's active mark disagrees with its appointment"


@settings(max_examples=40, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=8, max_size=24))
async def test_the_books_stay_true_whatever_happens_in_whatever_order(client, runtime, clock, admin, steps):
    world = await _world(client, runtime, clock, admin)
    for action, a, b in steps:
        response = await _act(world, action, a, b)
        if response is not None:
            assert response.status_code < 500, (action, response.status_code, response.text)
            event(f"{action} {response.status_code}")  # --hypothesis-show-statistics: what was exercised
        await _books_are_true(runtime)
