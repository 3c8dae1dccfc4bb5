"""Every change to an appointment or a day holds, in any order (issue 9), through the HTTP
API on PostgreSQL: closures against bookings in flight, special openings beside the usual
windows, the reason a slot is closed, turning a couple away, the no-show ban, a held
seat's hold on the move, and walk-ins at the counter.

The clock stands at Thursday 2026-09-10 10:00 in Shanghai; the office opens Monday to
Friday, 09:00-10:00 and 14:00-15:00 (``open_office``)."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from booking.applications.services import expire_holds
from booking.appointments.services.desk import sweep_no_shows
from booking.appointments.store import SqlBookingStore
from booking.runtime import Runtime
from tests.events_helpers import create_event, signup_body
from tests.factories import Office, couple_parties, make_actor, open_office

pytestmark = pytest.mark.asyncio
SH = ZoneInfo("Asia/Shanghai")
BOOK = "/api/v1/appointments"


def body(slot_id: int, parties: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"slot_id": slot_id, "service": "marriage_registration", "parties": parties or couple_parties()}


async def slots_of(client: httpx.AsyncClient, office: Office, day: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/offices/{office.id}/slots?from={day}&to={day}",
                                headers=office.clerk.headers)
    return response.json()["data"]


async def book(client: httpx.AsyncClient, runtime: Runtime, slot_id: int, **kw: Any) -> dict[str, Any]:
    couple = await make_actor(runtime, "couple")
    response = await client.post(BOOK, json=body(slot_id, **kw), headers=couple.headers)
    assert response.status_code == 201, response.text
    return {**response.json(), "headers": couple.headers}


async def status_of(client: httpx.AsyncClient, office: Office, appointment_id: str) -> str:
    return (await client.get(f"{BOOK}/{appointment_id}", headers=office.clerk.headers)).json()["status"]


def dsn(runtime: Runtime) -> str:
    return runtime.settings.database_url.replace("+asyncpg", "")


@asynccontextmanager
async def holding_slot(runtime: Runtime, slot_id: int):
    """A transaction of our own holding a slot's row lock, as a booking in flight does."""
    conn = await asyncpg.connect(dsn(runtime))
    transaction = conn.transaction()
    await transaction.start()
    await conn.execute("SELECT 1 FROM slot WHERE id = $1 FOR UPDATE", slot_id)
    try:
        yield
    finally:
        await transaction.rollback()
        await conn.close()


async def someone_waits_on_a_lock(runtime: Runtime) -> None:
    """Until another session of this database waits for a row lock (polled, bounded)."""
    conn = await asyncpg.connect(dsn(runtime))
    try:
        for _ in range(400):
            if await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                   "AND wait_event_type = 'Lock'"):
                return
            await asyncio.sleep(0.025)
        raise AssertionError("nobody waited for the lock")
    finally:
        await conn.close()


async def cancel_notices(runtime: Runtime, appointment_id: str) -> list[str]:
    async with runtime.db.raw() as conn:
        return [r["payload"] for r in await conn.fetch(
            "SELECT payload->>'by' AS payload FROM notification WHERE subject_id = $1 "
            "AND kind = 'appointment.cancelled' AND channel = 'email'", uuid.UUID(appointment_id))]


# --- 1. a closure and a booking in flight ------------------------------------------------------


@pytest.mark.parametrize("change", ["closure", "special opening removed"])
async def test_a_booking_that_commits_while_the_day_closes_is_cancelled_with_it(client, runtime, admin,
                                                                              change):
    """The day's first slot is held (as by a booking in flight); the closure waits on it;
    meanwhile a booking commits on the day's second slot. The closure must close that slot
    too and cancel the booking, never leave it confirmed on a closed day."""
    office = await open_office(client, runtime, admin)
    day = "2026-09-16"
    if change == "special opening removed":
        day = "2026-09-19"  # a Saturday, open only through its special opening
        windows = [{"start": s, "end": e, "capacities": {"marriage_registration": 5}}
                   for s, e in (("09:00", "10:00"), ("10:00", "11:00"))]
        await client.post(f"/api/v1/offices/{office.id}/special-openings", headers=office.clerk.headers,
                          json={"date": day, "windows": windows})
        await client.post(f"/api/v1/offices/{office.id}/slots/generate", json={"from": day, "to": day},
                          headers=office.clerk.headers)
    first, second = [s["id"] for s in await slots_of(client, office, day)]
    async with holding_slot(runtime, first):
        if change == "closure":
            request = client.post(f"/api/v1/offices/{office.id}/closures", json={"date": day},
                                  headers=office.clerk.headers)
        else:
            request = client.delete(f"/api/v1/offices/{office.id}/special-openings/{day}",
                                    headers=office.clerk.headers)
        closing = asyncio.create_task(request)
        await someone_waits_on_a_lock(runtime)
        booked = await book(client, runtime, second)  # commits while the day is closing
    assert (await closing).status_code in (201, 204)
    assert await status_of(client, office, booked["id"]) == "cancelled"
    assert await cancel_notices(runtime, booked["id"]) == ["office"]  # the couple is told, with a CANCEL
    async with runtime.db.raw() as conn:
        rows = await conn.fetch("SELECT id, status, booked FROM slot WHERE id = ANY($1)", [first, second])
        standing = await conn.fetchval("SELECT count(*) FROM appointment WHERE slot_id = ANY($1) "
                                       "AND status IN ('pending_review', 'confirmed', 'checked_in')",
                                       [first, second])
    assert {(r["status"], r["booked"]) for r in rows} == {("closed", 0)} and standing == 0


# --- 2. a special opening beside a working day's windows ---------------------------------------


async def test_removing_a_special_opening_removes_only_its_own_windows(client, runtime, admin):
    office = await open_office(client, runtime, admin)
    wednesday = "2026-09-16"
    morning = await book(client, runtime, (await slots_of(client, office, wednesday))[0]["id"])
    evening_window = {"start": "18:00", "end": "20:00", "capacities": {"marriage_registration": 5}}
    added = await client.post(f"/api/v1/offices/{office.id}/special-openings", headers=office.clerk.headers,
                              json={"date": wednesday, "note": "evening", "windows": [evening_window]})
    assert added.status_code == 201, added.text
    generated = await client.post(f"/api/v1/offices/{office.id}/slots/generate",
                                  json={"from": wednesday, "to": wednesday}, headers=office.clerk.headers)
    assert generated.json()["created"] == 1
    evening_slot = (await slots_of(client, office, wednesday))[2]
    assert evening_slot["starts_at"].endswith("T10:00:00Z")  # 18:00 in Shanghai
    evening = await book(client, runtime, evening_slot["id"])

    removed = await client.delete(f"/api/v1/offices/{office.id}/special-openings/{wednesday}",
                                  headers=office.clerk.headers)
    assert removed.status_code == 204
    assert await status_of(client, office, morning["id"]) == "confirmed"  # the weekly window is untouched
    assert await status_of(client, office, evening["id"]) == "cancelled"
    after = await slots_of(client, office, wednesday)
    assert [(s["status"], s["closed_reason"], s["booked"]) for s in after] == [
        ("open", None, 1), ("open", None, 0), ("closed", "opening_removed", 0)]


@pytest.mark.parametrize("windows", [
    [{"start": "09:30", "end": "11:00", "capacities": {"marriage_registration": 5}}],  # over 09:00-10:00
    None,  # the usual working-day windows: the same as the day's own
])
async def test_a_special_opening_never_stacks_on_the_day_s_windows(client, runtime, admin, windows):
    office = await open_office(client, runtime, admin)
    request: dict[str, Any] = {"date": "2026-09-17"}
    if windows:
        request["windows"] = windows
    refused = await client.post(f"/api/v1/offices/{office.id}/special-openings", json=request,
                                headers={**office.clerk.headers, "Accept-Language": "en"})
    assert refused.status_code == 409 and refused.json()["code"] == "special-opening-overlaps"
    listed = await client.get(f"/api/v1/offices/{office.id}/special-openings", headers=office.clerk.headers)
    assert listed.json()["data"] == []
    await client.post(f"/api/v1/offices/{office.id}/slots/generate",
                      json={"from": "2026-09-17", "to": "2026-09-17"}, headers=office.clerk.headers)
    assert [s["capacity"] for s in await slots_of(client, office, "2026-09-17")] == [5, 5]


# --- 3. what closed a slot, and who may reopen it ----------------------------------------------


async def test_undoing_a_closure_does_not_reopen_a_removed_opening_s_slots(client, runtime, admin):
    office = await open_office(client, runtime, admin)
    saturday = "2026-09-19"
    await client.post(f"/api/v1/offices/{office.id}/special-openings", json={"date": saturday},
                      headers=office.clerk.headers)
    await client.post(f"/api/v1/offices/{office.id}/slots/generate", json={"from": saturday, "to": saturday},
                      headers=office.clerk.headers)
    kept = await book(client, runtime, (await slots_of(client, office, saturday))[0]["id"])
    await client.post(f"{BOOK}/{kept['id']}/cancel", headers=kept["headers"])  # keeps the slot in the books
    await client.delete(f"/api/v1/offices/{office.id}/special-openings/{saturday}",
                        headers=office.clerk.headers)
    assert (await client.post(f"/api/v1/offices/{office.id}/closures", json={"date": saturday},
                              headers=office.clerk.headers)).status_code == 201
    assert (await client.delete(f"/api/v1/offices/{office.id}/closures/{saturday}",
                                headers=office.clerk.headers)).status_code == 204
    available = await client.get(f"/api/v1/offices/{office.id}/availability?service=marriage_registration"
                                 f"&from={saturday}&to={saturday}")
    assert available.json()["data"] == []
    assert [(s["status"], s.get("closed_reason")) for s in await slots_of(client, office, saturday)] == [
        ("closed", "opening_removed")]


async def test_a_clerk_cannot_reopen_one_slot_of_a_closed_day(client, runtime, admin):
    office = await open_office(client, runtime, admin)
    day = "2026-09-16"
    by_hand, other = [s["id"] for s in await slots_of(client, office, day)]
    await client.patch(f"/api/v1/slots/{by_hand}", json={"status": "closed"}, headers=office.clerk.headers)
    await client.post(f"/api/v1/offices/{office.id}/closures", json={"date": day},
                      headers=office.clerk.headers)
    for slot_id in (other, by_hand):  # closed by the closure; closed by the clerk, on a closed day
        refused = await client.patch(f"/api/v1/slots/{slot_id}", json={"status": "open"},
                                     headers={**office.clerk.headers, "Accept-Language": "en"})
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "slot-closed-with-day"
        assert refused.headers["content-type"].startswith("application/problem+json")
    late = await client.post(BOOK, json=body(other), headers=(await make_actor(runtime, "couple")).headers)
    assert late.status_code == 409 and late.json()["code"] == "slot-not-bookable"
    # once the closure is gone, the clerk's own closing is the clerk's to undo
    await client.delete(f"/api/v1/offices/{office.id}/closures/{day}", headers=office.clerk.headers)
    reopened = await client.patch(f"/api/v1/slots/{by_hand}", json={"status": "open"},
                                  headers=office.clerk.headers)
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"



async def test_a_clerk_closing_one_slot_cancels_what_stands_on_it(client, runtime, admin):
    """A slot the clerk closes by hand holds no active appointment afterwards: the couple on
    it is cancelled by the office and told (with the clerk's note), the seat count is 0,
    and the day's other slot keeps its booking."""
    office = await open_office(client, runtime, admin)
    closing, other = [s["id"] for s in await slots_of(client, office, "2026-09-16")]
    on_it, beside = await book(client, runtime, closing), await book(client, runtime, other)
    closed = await client.patch(f"/api/v1/slots/{closing}", json={"status": "closed", "note": "停电"},
                                headers=office.clerk.headers)
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["booked"]) == ("closed", 0)
    assert await status_of(client, office, on_it["id"]) == "cancelled"
    assert await cancel_notices(runtime, on_it["id"]) == ["office"]
    assert await status_of(client, office, beside["id"]) == "confirmed"
    async with runtime.db.raw() as conn:
        reason = await conn.fetchval("SELECT status_reason FROM appointment WHERE id = $1", uuid.UUID(on_it["id"]))
        audit = await conn.fetchval("SELECT detail->>'cancelled_appointments' FROM audit_entry "
                                    "WHERE action = 'slot.update' AND target_id = $1", str(closing))
    assert reason == "停电" and audit == "1"

# --- 4. turned away at the counter -------------------------------------------------------------


async def test_a_couple_turned_away_may_book_again_and_nothing_counts_it_as_registered(
        client, runtime, admin, clock):
    office = await open_office(client, runtime, admin)
    parties = couple_parties()
    slot_id = (await slots_of(client, office, "2026-09-15"))[0]["id"]
    booked = await book(client, runtime, slot_id, parties=parties)
    clock.set(datetime(2026, 9, 15, 8, 50, tzinfo=SH))
    checked = await client.post(f"{BOOK}/{booked['id']}/check-in", headers=office.clerk.headers)
    assert checked.json()["status"] == "checked_in"
    missing = await client.post(f"{BOOK}/{booked['id']}/turn-away", json={}, headers=office.clerk.headers)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "reason"
    reason = "户口簿未带 / no hukou booklet"
    turned = await client.post(f"{BOOK}/{booked['id']}/turn-away", json={"reason": reason},
                               headers=office.clerk.headers)
    assert turned.status_code == 200, turned.text
    assert turned.json()["status"] == "turned_away" and turned.json()["status_reason"] == reason
    seen = await client.get(f"{BOOK}/{booked['id']}", headers=booked["headers"])
    assert seen.json()["status"] == "turned_away"
    # the seat is free again, and so are the parties (another day, another account)
    assert (await slots_of(client, office, "2026-09-15"))[0]["booked"] == 0
    friday = (await slots_of(client, office, "2026-09-18"))[0]["id"]
    again = await book(client, runtime, friday, parties=parties)
    # not a no-show: the sweep leaves it alone, and it counts toward no ban
    clock.set(datetime(2026, 9, 15, 23, 0, tzinfo=SH))
    assert await sweep_no_shows(runtime) == 0
    async with runtime.db.raw() as conn:
        audit = await conn.fetchval("SELECT count(*) FROM audit_entry WHERE action = 'appointment.turn_away'")
    assert audit == 1
    # not a registration: a collective wedding that asks for one does not take the couple
    await client.post(f"{BOOK}/{again['id']}/cancel", headers=again["headers"])
    clock.set(datetime(2026, 9, 16, 10, 0, tzinfo=SH))
    event = await create_event(client, office.clerk, office.id)
    signup = await client.post(f"/api/v1/events/{event['id']}/signups",
                               json=signup_body(parties, marriage_date=None),
                               headers={**booked["headers"], "Accept-Language": "en"})
    assert signup.status_code == 422 and signup.json()["code"] == "not-eligible", signup.text


# --- 5. the no-show ban runs from the last no-show ---------------------------------------------


@pytest.mark.parametrize("store", ["one_statement", "transaction"])
async def test_the_no_show_ban_runs_its_days_from_the_last_no_show(client, runtime, admin, clock, store):
    """2 no-shows within 30 days ban for 15 days from the second: misses on 09-14 and 10-13
    (29 days apart) ban until 10-28, also after the first has left the last 30 days."""
    if store == "transaction":
        runtime.booking_store = SqlBookingStore(runtime.db)
    office = await open_office(client, runtime, admin)
    parties = couple_parties()
    couple = await make_actor(runtime, "couple")
    for day, booking_day in (("2026-09-14", datetime(2026, 9, 10, 10, 0, tzinfo=SH)),
                             ("2026-10-13", datetime(2026, 10, 1, 10, 0, tzinfo=SH))):
        clock.set(booking_day)
        booked = await client.post(BOOK, json=body((await slots_of(client, office, day))[0]["id"], parties),
                                   headers=couple.headers)
        assert booked.status_code == 201, booked.text
        clock.set(datetime.fromisoformat(booked.json()["starts_at"]).replace(hour=9, minute=30))
        assert (await client.post(f"{BOOK}/{booked.json()['id']}/no-show",
                                  headers=office.clerk.headers)).json()["status"] == "no_show"
    clock.set(datetime(2026, 10, 14, 10, 0, tzinfo=SH))  # 30 days and an hour after the first miss
    later = (await slots_of(client, office, "2026-10-20"))[0]["id"]
    refused = await client.post(BOOK, json=body(later, parties),
                                headers={**couple.headers, "Accept-Language": "en"})
    assert refused.status_code == 409 and refused.json()["code"] == "no-show-ban", refused.text
    assert refused.json()["ban_ends_on"] == "2026-10-28"
    clock.set(datetime(2026, 10, 28, 9, 30, tzinfo=SH))
    last = (await slots_of(client, office, "2026-10-30"))[0]["id"]
    allowed = await client.post(BOOK, json=body(last, parties), headers=couple.headers)
    assert allowed.status_code == 201, allowed.text


# --- 6. a held seat's hold moves with it ---------------------------------------------------------


async def test_rescheduling_a_held_seat_keeps_its_hold_for_the_new_date(client, runtime, admin, clock):
    office = await open_office(client, runtime, admin)
    couple = await make_actor(runtime, "couple")
    tomorrow = (await slots_of(client, office, "2026-09-11"))[0]["id"]
    held = await client.post(BOOK, json=body(tomorrow, couple_parties(region="510104", hukou="51")),
                             headers=couple.headers)
    assert held.json()["status"] == "pending_review"  # its hold ends at the start, tomorrow 09:00
    next_week = (await slots_of(client, office, "2026-09-17"))[0]["id"]
    moved = await client.post(f"{BOOK}/{held.json()['id']}/reschedule", json={"slot_id": next_week},
                              headers=couple.headers)
    assert moved.status_code == 200, moved.text
    current = (await client.get(f"{BOOK}/{held.json()['id']}", headers=couple.headers)).json()
    application = await client.get(current["links"]["application"], headers=couple.headers)
    assert application.json()["hold_expires_at"] == "2026-09-13T10:00:00+08:00"  # 72 hours from the request
    clock.set(datetime(2026, 9, 11, 10, 0, tzinfo=SH))  # the old start has passed
    assert await expire_holds(runtime) == 0
    assert (await client.get(f"{BOOK}/{held.json()['id']}", headers=couple.headers)).json()["status"] == \
        "pending_review"
    clock.set(datetime(2026, 9, 13, 10, 0, tzinfo=SH))
    assert await expire_holds(runtime) == 1


# --- 7. walk-ins at the counter ------------------------------------------------------------------


async def test_a_clerk_books_a_walk_in_into_today_s_free_slot(client, runtime, admin, clock):
    office = await open_office(client, runtime, admin)
    morning, afternoon = [s["id"] for s in await slots_of(client, office, "2026-09-15")]
    clock.set(datetime(2026, 9, 15, 9, 20, tzinfo=SH))  # past the online cut-off; the 09:00 slot has begun
    couple = await make_actor(runtime, "couple")
    online = await client.post(BOOK, json=body(afternoon), headers=couple.headers)
    assert online.status_code == 409 and online.json()["code"] == "slot-not-bookable"
    desk = f"/api/v1/offices/{office.id}/appointments"
    for slot_id in (afternoon, morning):
        walk_in = await client.post(desk, json=body(slot_id), headers=office.clerk.headers)
        assert walk_in.status_code == 201, walk_in.text
        assert walk_in.json()["channel"] == "counter"
    clock.set(datetime(2026, 9, 15, 10, 0, tzinfo=SH))  # the 09:00-10:00 slot is over
    over = await client.post(desk, json=body(morning), headers=office.clerk.headers)
    assert over.status_code == 409 and over.json()["code"] == "slot-not-bookable"


# --- the counter's other transitions go through the same rules ---------------------------------


async def test_status_changes_refuse_what_the_status_does_not_allow(client, runtime, admin, clock):
    office = await open_office(client, runtime, admin)
    booked = await book(client, runtime, (await slots_of(client, office, "2026-09-15"))[0]["id"])
    early = await client.post(f"{BOOK}/{booked['id']}/turn-away", json={"reason": "x"},
                              headers=office.clerk.headers)
    assert early.status_code == 409 and early.json()["code"] == "invalid-status"  # not the day yet
    clock.set(datetime(2026, 9, 15, 8, 50, tzinfo=SH))
    too_soon = await client.post(f"{BOOK}/{booked['id']}/complete", headers=office.clerk.headers)
    assert too_soon.status_code == 409
    await client.post(f"{BOOK}/{booked['id']}/check-in", headers=office.clerk.headers)
    for action in ("no-show", "cancel"):  # checked in: they came, and only the office's day closes it
        refused = await client.post(f"{BOOK}/{booked['id']}/{action}", headers=office.clerk.headers)
        assert refused.status_code == 409 and refused.json()["code"] == "invalid-status"
    done = await client.post(f"{BOOK}/{booked['id']}/complete", headers=office.clerk.headers)
    assert done.json()["status"] == "completed"
    assert (await slots_of(client, office, "2026-09-15"))[0]["booked"] == 0  # its seat is not held any more
    async with runtime.db.raw() as conn:
        refusals = await conn.fetch("SELECT action, outcome FROM audit_entry WHERE outcome LIKE 'refused:%' "
                                    "ORDER BY id")
    assert [(r["action"], r["outcome"]) for r in refusals] == [
        (f"appointment.{action}", "refused:invalid-status")
        for action in ("turn_away", "complete", "no_show", "cancel")]
