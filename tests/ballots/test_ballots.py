"""Peak-day ballots on PostgreSQL: set-up, entries under a booking's rules, the draw and
its public check, the waitlist and promotions, and the booking guard before the draw."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from booking.ballots.draw import draw_due, lapse_waitlists
from booking.clock import FixedClock
from booking.notifications.delivery import channels, sweep
from tests.ballot_helpers import (
    AFTER_DRAW,
    BALLOT,
    BEFORE_WINDOW,
    IN_WINDOW,
    PEAK_DAY,
    couple_of,
    enter_all,
    peak_office,
    recompute_winners,
    set_up_ballot,
)
from tests.conftest import ROOT
from tests.factories import make_actor, make_couples, other_clerk
from tests.metrics_helpers import value

pytestmark = pytest.mark.asyncio


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(BEFORE_WINDOW)


async def _slots(client, office, day=PEAK_DAY):
    listed = await client.get(f"/api/v1/offices/{office.id}/slots?from={day}&to={day}", headers=office.clerk.headers)
    return listed.json()["data"]


async def _counts(runtime, ballot_id):
    async with runtime.db.raw() as conn:
        rows = await conn.fetch("SELECT state, count(*) FROM ballot_entry WHERE ballot_id = $1 GROUP BY state",
                                uuid.UUID(ballot_id))
    return {r["state"]: r["count"] for r in rows}


# --- set-up ----------------------------------------------------------------------------


async def test_a_clerk_sets_up_a_ballot_with_a_public_commitment(client, runtime, admin):
    office = await peak_office(client, runtime, admin)
    ballot = await set_up_ballot(client, office)
    assert ballot["state"] == "scheduled" and ballot["capacity"] == 100 and ballot["entry_count"] == 0
    assert len(ballot["seed_commitment"]) == 64 and ballot.get("seed") is None
    public = (await client.get(f"/api/v1/ballots/{ballot['id']}")).json()
    assert public["seed_commitment"] == ballot["seed_commitment"] and "seed" not in public
    assert "HMAC-SHA256" in public["verification"]
    listed = (await client.get(f"/api/v1/offices/{office.id}/ballots")).json()["data"]
    assert [b["id"] for b in listed] == [ballot["id"]]
    again = await client.post(f"/api/v1/offices/{office.id}/ballots", json=BALLOT, headers=office.clerk.headers)
    assert again.status_code == 409 and again.json()["code"] == "ballot-exists"


async def test_ballot_set_up_is_refused_clearly(client, runtime, admin):
    office = await peak_office(client, runtime, admin)
    clerk = office.clerk.headers
    url = f"/api/v1/offices/{office.id}/ballots"
    not_peak = await client.post(url, json={**BALLOT, "date": "2027-05-19"}, headers=clerk)
    assert not_peak.status_code == 422 and not_peak.json()["errors"][0]["field"] == "date"
    late = await client.post(url, json={**BALLOT, "draw_at": "2027-05-05T09:00:00+08:00"},
                             headers={**clerk, "Accept-Language": "en"})
    assert late.status_code == 422
    assert late.json()["errors"] == [{"field": "draw_at", "message":
                                      "Must be before the day's normal release at 2027-05-05T08:30:00+08:00."}]
    opened = await client.post(url, json={**BALLOT, "entry_opens_at": "2027-04-20T09:00:00+08:00"}, headers=clerk)
    assert opened.status_code == 422 and opened.json()["errors"][0]["field"] == "entry_opens_at"
    backwards = await client.post(url, json={**BALLOT, "draw_at": "2027-04-30T10:00:00+08:00"}, headers=clerk)
    assert backwards.status_code == 422
    naive = await client.post(url, json={**BALLOT, "draw_at": "2027-05-02T10:00:00"}, headers=clerk)
    assert naive.status_code == 422
    own = await client.post(f"/api/v1/offices/{office.id}/peak-days", json={"date": "2027-05-22", "name_zh": "好日子"},
                            headers=clerk)
    assert own.status_code == 201 and own.json()["kinds"] == ["office"]
    no_slots = await client.post(url, json={**BALLOT, "date": "2027-05-22"}, headers=clerk)  # a Saturday
    assert no_slots.status_code == 409 and no_slots.json()["code"] == "ballot-no-slots"
    other = await other_clerk(client, runtime, admin)
    assert (await client.post(url, json=BALLOT, headers=other.headers)).status_code == 404
    couple = await make_actor(runtime, "couple")
    assert (await client.post(url, json=BALLOT, headers=couple.headers)).status_code == 403
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM ballot") == 0


# --- entries ---------------------------------------------------------------------------


async def test_entries_follow_the_rules_of_a_booking(client, runtime, admin, clock):
    office = await peak_office(client, runtime, admin)
    ballot = await set_up_ballot(client, office)
    url = f"/api/v1/ballots/{ballot['id']}/entries"
    couple = await make_actor(runtime, "couple")
    early = await client.post(url, json={"parties": couple_of(1)}, headers=couple.headers)
    assert early.status_code == 409 and early.json()["code"] == "ballot-entries-not-open"
    clock.set(IN_WINDOW)
    # the groom is 22 only after the ballot's date: refused for that date
    young = couple_of(2)
    young[0]["id_number"] = young[0]["id_number"][:6] + "20050521" + young[0]["id_number"][14:17]
    from booking.parties.identity import check_character

    young[0]["id_number"] += check_character(young[0]["id_number"])
    refused = await client.post(url, json={"parties": young}, headers=couple.headers)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "parties.0.id_number"
    # neither hukou in Guangdong: in the nationwide period this office pre-reviews such couples
    nonlocal_couple = await client.post(url, json={"parties": couple_of(3, region="110105", hukou="11")},
                                        headers=couple.headers)
    assert nonlocal_couple.status_code == 409 and nonlocal_couple.json()["code"] == "ballot-prereview-required"
    bad_time = await client.post(url, json={"parties": couple_of(4), "times": ["11:00"]}, headers=couple.headers)
    assert bad_time.status_code == 422 and bad_time.json()["errors"][0]["field"] == "times"
    bad_id = await client.post(url, json={"parties": couple_of(5)[:1]}, headers=couple.headers)
    assert bad_id.status_code == 422 and bad_id.json()["title"] == "输入无效。"
    request = {"parties": couple_of(6), "times": ["14:00"]}
    entered = await client.post(url, json=request, headers={**couple.headers, "Idempotency-Key": "k1"})
    assert entered.status_code == 201, entered.text
    body = entered.json()
    assert body["state"] == "entered" and body["times"] == ["14:00"]
    assert body["parties"][0]["id_number"].count("*") == 17  # the last character only (security/pii.py)
    replay = await client.post(url, json=request, headers={**couple.headers, "Idempotency-Key": "k1"})
    assert replay.status_code == 201 and replay.json()["id"] == body["id"]
    other_body = await client.post(url, json={**request, "times": None},
                                   headers={**couple.headers, "Idempotency-Key": "k1"})
    assert other_body.status_code == 409 and other_body.json()["code"] == "idempotency-key-reused"
    mine = (await client.get("/api/v1/ballot-entries", headers=couple.headers)).json()
    assert mine["total"] == 1 and mine["data"][0]["id"] == body["id"]
    stranger = await make_actor(runtime, "couple")
    assert (await client.get(f"/api/v1/ballot-entries/{body['id']}", headers=stranger.headers)).status_code == 404
    clock.set(datetime(2027, 5, 1, 10, 0, tzinfo=UTC))  # 18:00 in Shanghai: closed
    late = await client.post(url, json={"parties": couple_of(7)}, headers=stranger.headers)
    assert late.status_code == 409 and late.json()["code"] == "ballot-entries-closed"
    assert (await _counts(runtime, ballot["id"])) == {"entered": 1}


async def test_one_active_entry_or_booking_per_person(client, runtime, admin, clock):
    office = await peak_office(client, runtime, admin)
    ballot = await set_up_ballot(client, office)
    url = f"/api/v1/ballots/{ballot['id']}/entries"
    clock.set(IN_WINDOW)
    before = (await client.get("/metrics")).text
    first, second, third = await make_couples(runtime, 3)
    parties = couple_of(10)
    assert (await client.post(url, json={"parties": parties}, headers=first.headers)).status_code == 201
    twice = await client.post(url, json={"parties": couple_of(11)}, headers=first.headers)
    assert twice.status_code == 409 and twice.json()["code"] == "ballot-already-entered"
    same_person = await client.post(url, json={"parties": [parties[0], couple_of(12)[1]]}, headers=second.headers)
    assert same_person.status_code == 409 and same_person.json()["code"] == "party-already-entered"
    # a person holding a booking of the service cannot enter, nor book while holding an entry
    slots = (await client.get(f"/api/v1/offices/{office.id}/availability?service=marriage_registration"
                              "&from=2027-05-03&to=2027-05-10")).json()["data"]
    booked_couple = couple_of(13)
    booking = await client.post("/api/v1/appointments", headers=third.headers, json={
        "slot_id": slots[0]["slot_id"], "service": "marriage_registration", "parties": booked_couple})
    assert booking.status_code == 201, booking.text
    holder = await client.post(url, json={"parties": booked_couple}, headers=third.headers)
    assert holder.status_code == 409 and holder.json()["code"] == "party-already-booked"
    after = (await client.get("/metrics")).text
    for name, moved in (("entered", 1), ("party_already_booked", 3), ("error", 0)):  # each entry answer once
        assert (value(after, "booking_outcomes_total", kind="ballot_entry", outcome=name)
                - value(before, "booking_outcomes_total", kind="ballot_entry", outcome=name)) == moved, name
    entrant_books = await client.post("/api/v1/appointments", headers=first.headers, json={
        "slot_id": slots[1]["slot_id"], "service": "marriage_registration", "parties": parties})
    assert entrant_books.status_code == 409 and entrant_books.json()["code"] == "party-already-booked"
    # the database itself refuses it, whatever the service checks
    async with runtime.db.raw() as conn:
        id_hash = await conn.fetchval("SELECT id_hash FROM ballot_entry_party WHERE active LIMIT 1")
        appointment = await conn.fetchval("SELECT id FROM appointment LIMIT 1")
        with pytest.raises(asyncpg.UniqueViolationError) as refused:
            await conn.execute(
                "INSERT INTO appointment_party (id, appointment_id, position, name, id_type, id_hash, id_enc, "
                "id_masked, phone_enc, phone_hash, phone_masked, facts_enc, service, active) VALUES "
                "($1, $2, 2, 'x', 'resident_id', $3, 'x', 'x', 'x', 'x', 'x', 'x', "
                "'marriage_registration', true)", uuid.uuid4(), appointment, id_hash)
        assert refused.value.constraint_name == "uq_person_active_claim"
    # withdrawn before the draw: the person is free to book
    entry_id = (await client.get("/api/v1/ballot-entries", headers=first.headers)).json()["data"][0]["id"]
    withdrawn = await client.post(f"/api/v1/ballot-entries/{entry_id}/withdraw", headers=first.headers)
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    rebooked = await client.post("/api/v1/appointments", headers=first.headers, json={
        "slot_id": slots[1]["slot_id"], "service": "marriage_registration", "parties": parties})
    assert rebooked.status_code == 201


async def test_500_entries_for_100_seats(client, runtime, admin, clock):
    office = await peak_office(client, runtime, admin, capacity=50)
    ballot = await set_up_ballot(client, office)
    clock.set(IN_WINDOW)
    couples = await make_couples(runtime, 500)
    await enter_all(client, ballot["id"], couples)
    assert (await client.get(f"/api/v1/ballots/{ballot['id']}")).json()["entry_count"] == 500

    clock.set(AFTER_DRAW)
    assert await draw_due(runtime) == 1
    assert await draw_due(runtime) == 0  # drawn once
    public = (await client.get(f"/api/v1/ballots/{ballot['id']}")).json()
    assert public["state"] == "drawn" and public["capacity"] == 100 and public["entry_count"] == 500
    assert hashlib.sha256(bytes.fromhex(public["seed"])).hexdigest() == ballot["seed_commitment"]
    assert len(public["winners"]) == 100 and len(public["entry_ids"]) == 500
    assert public["entry_ids"] == sorted(public["entry_ids"])
    ordered, winners = recompute_winners(public["seed"], public["entry_ids"], public["seats"],
                                         public["entry_times"])
    assert winners == public["winners"] == ordered[:100]

    assert await _counts(runtime, ballot["id"]) == {"won": 100, "waitlisted": 400}
    async with runtime.db.raw() as conn:
        ranked = await conn.fetch("SELECT id, rank, state, appointment_id FROM ballot_entry WHERE ballot_id = $1 "
                                  "ORDER BY rank", uuid.UUID(ballot["id"]))
        confirmed = await conn.fetchval(
            "SELECT count(*) FROM appointment WHERE status = 'confirmed' AND id = ANY($1::uuid[])",
            [r["appointment_id"] for r in ranked if r["appointment_id"]])
        seats = await conn.fetch("SELECT booked, capacity FROM slot WHERE local_date = $1", datetime(2027, 5, 20).date())
        notices = dict(await conn.fetch("SELECT kind, count(DISTINCT subject_id) FROM notification GROUP BY kind"))
        held = await conn.fetchval("SELECT count(*) FROM ballot_entry_party WHERE active")
        # reminders are derived when due: each confirmed appointment carries its moment
        reminded = await conn.fetchval("SELECT count(*) FROM appointment WHERE remind_at IS NOT NULL "
                                       "AND status = 'confirmed'")
    assert [str(r["id"]) for r in ranked] == ordered  # waitlisted in draw order
    assert [r["state"] for r in ranked] == ["won"] * 100 + ["waitlisted"] * 400
    assert confirmed == 100 and all(s["booked"] == s["capacity"] for s in seats)
    assert notices["appointment.confirmed"] == 100 and notices["ballot.waitlisted"] == 400
    assert reminded == 100 and notices["ballot.entered"] == 500
    assert held == 800  # the waitlisted still hold their people; the winners' appointments hold theirs
    by_id = {c.id: c for c in couples}
    first_waiting = ranked[100]
    owner = await _owner(runtime, first_waiting["id"])
    seen = (await client.get(f"/api/v1/ballot-entries/{first_waiting['id']}", headers=by_id[owner].headers)).json()
    assert seen["state"] == "waitlisted" and seen["position"] == 1 and seen["rank"] == 101
    winner = await _owner(runtime, ranked[0]["id"])
    won = (await client.get(f"/api/v1/ballot-entries/{ranked[0]['id']}", headers=by_id[winner].headers)).json()
    assert won["state"] == "won" and won["appointment_id"] == str(ranked[0]["appointment_id"])
    desk = (await client.get(f"/api/v1/ballots/{ballot['id']}/entries?state=waitlisted&limit=3&offset=2",
                             headers=office.clerk.headers)).json()
    assert desk["total"] == 400 and [e["position"] for e in desk["data"]] == [3, 4, 5]


def _readme_recipe() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("```python", text.index("**Checking a draw.**")) + len("```python")
    return text[start:text.index("```", start)]


async def _owner(runtime, entry_id):
    async with runtime.db.raw() as conn:
        return await conn.fetchval("SELECT account_id FROM ballot_entry WHERE id = $1", entry_id)


async def test_times_of_day_are_honoured_and_published(client, runtime, admin, clock):
    office = await peak_office(client, runtime, admin, capacity=2)
    ballot = await set_up_ballot(client, office)
    clock.set(IN_WINDOW)
    couples = await make_couples(runtime, 8)
    entries = await enter_all(client, ballot["id"], couples, times={i: ["14:00"] for i in range(6)})
    clock.set(AFTER_DRAW)
    await draw_due(runtime)
    public = (await client.get(f"/api/v1/ballots/{ballot['id']}")).json()
    assert public["seats"] == [{"time": "09:00", "seats": 2}, {"time": "14:00", "seats": 2}]
    assert set(public["entry_times"]) == {e["id"] for e in entries[:6]}
    _ordered, winners = recompute_winners(public["seed"], public["entry_ids"], public["seats"],
                                          public["entry_times"])
    assert winners == public["winners"] and len(winners) == 4
    exec(_readme_recipe(), {"ballot": public})  # the README's own check passes (it asserts)
    async with runtime.db.raw() as conn:
        placed = await conn.fetch(
            "SELECT e.times, to_char(a.starts_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') AS at FROM ballot_entry e "
            "JOIN appointment a ON a.id = e.appointment_id WHERE e.ballot_id = $1", uuid.UUID(ballot["id"]))
    assert all(json.loads(p["times"]) is None or p["at"] in json.loads(p["times"]) for p in placed)


# --- after the draw --------------------------------------------------------------------


async def test_a_withdrawn_winners_seat_goes_to_the_first_waitlisted(client, runtime, admin, clock):
    office = await peak_office(client, runtime, admin, capacity=2)
    ballot = await set_up_ballot(client, office)
    clock.set(IN_WINDOW)
    couples = await make_couples(runtime, 7)
    await enter_all(client, ballot["id"], couples)
    clock.set(AFTER_DRAW)
    await draw_due(runtime)
    by_id = {c.id: c for c in couples}
    async with runtime.db.raw() as conn:
        ranked = await conn.fetch("SELECT id, account_id, appointment_id FROM ballot_entry WHERE ballot_id = $1 "
                                  "ORDER BY rank", uuid.UUID(ballot["id"]))
    winner, first_waiting, second_waiting = ranked[0], ranked[4], ranked[5]
    before = (await client.get(f"/api/v1/ballot-entries/{second_waiting['id']}",
                               headers=by_id[second_waiting["account_id"]].headers)).json()
    assert before["position"] == 2

    withdrawn = await client.post(f"/api/v1/ballot-entries/{winner['id']}/withdraw",
                                  headers=by_id[winner["account_id"]].headers)
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    promoted = (await client.get(f"/api/v1/ballot-entries/{first_waiting['id']}",
                                 headers=by_id[first_waiting["account_id"]].headers)).json()
    assert promoted["state"] == "won" and promoted["appointment_id"]
    appointment = (await client.get(f"/api/v1/appointments/{promoted['appointment_id']}",
                                    headers=by_id[first_waiting["account_id"]].headers)).json()
    old = (await client.get(f"/api/v1/appointments/{winner['appointment_id']}",
                            headers=by_id[winner["account_id"]].headers)).json()
    assert appointment["status"] == "confirmed" and old["status"] == "cancelled"
    assert appointment["slot_id"] == old["slot_id"]
    after = (await client.get(f"/api/v1/ballot-entries/{second_waiting['id']}",
                              headers=by_id[second_waiting["account_id"]].headers)).json()
    assert after["position"] == 1

    # a cancellation through the appointment itself promotes the next one as well
    second_winner = ranked[1]
    cancelled = await client.post(f"/api/v1/appointments/{second_winner['appointment_id']}/cancel",
                                  headers=by_id[second_winner["account_id"]].headers)
    assert cancelled.status_code == 200
    assert await _counts(runtime, ballot["id"]) == {"won": 4, "withdrawn": 2, "waitlisted": 1}
    async with runtime.db.raw() as conn:
        seats = await conn.fetch("SELECT booked, capacity FROM slot WHERE local_date = $1", datetime(2027, 5, 20).date())
        confirmed_for = await conn.fetchval(
            "SELECT count(*) FROM notification WHERE kind = 'appointment.confirmed' AND channel = 'email'")
    assert all(s["booked"] == s["capacity"] for s in seats)
    assert confirmed_for == 6  # four winners of the draw, two promoted

    # a waitlisted couple may leave the waitlist; after the day's booking closes the rest lapse
    last = ranked[6]
    left = await client.post(f"/api/v1/ballot-entries/{last['id']}/withdraw", headers=by_id[last["account_id"]].headers)
    assert left.status_code == 200 and left.json()["state"] == "withdrawn"
    again = await client.post(f"/api/v1/ballot-entries/{last['id']}/withdraw", headers=by_id[last["account_id"]].headers)
    assert again.status_code == 409


async def test_the_waitlist_lapses_when_the_days_booking_closes(client, runtime, admin, clock):
    office = await peak_office(client, runtime, admin, capacity=1)
    ballot = await set_up_ballot(client, office)
    clock.set(IN_WINDOW)
    await enter_all(client, ballot["id"], await make_couples(runtime, 4))
    clock.set(AFTER_DRAW)
    await draw_due(runtime)
    assert await lapse_waitlists(runtime) == 0
    clock.set(datetime(2027, 5, 19, 7, 1, tzinfo=UTC))  # 15:01 the day before: booking has closed
    assert await lapse_waitlists(runtime) == 2
    assert await _counts(runtime, ballot["id"]) == {"won": 2, "lapsed": 2}
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM ballot_entry_party WHERE active") == 0


async def test_no_booking_takes_the_days_seats_before_the_draw(client, runtime, admin, clock):
    """The worker was down: the day is released but not drawn. Bookings are refused until a
    clerk runs the draw by hand; then the seats the draw left are bookable."""
    office = await peak_office(client, runtime, admin, capacity=3)
    ballot = await set_up_ballot(client, office)
    clock.set(IN_WINDOW)
    await enter_all(client, ballot["id"], await make_couples(runtime, 4))
    clock.set(datetime(2027, 5, 6, 2, 0, tzinfo=UTC))  # after 5·20's release at 05-05 08:30
    slot = (await _slots(client, office))[0]
    late = await make_actor(runtime, "couple")
    body = {"slot_id": slot["id"], "service": "marriage_registration", "parties": couple_of(99)}
    refused = await client.post("/api/v1/appointments", json=body, headers={**late.headers, "Accept-Language": "en"})
    assert refused.status_code == 409 and refused.json()["code"] == "slot-not-bookable"
    assert "ballot" in refused.json()["detail"]
    walk_in = await client.post(f"/api/v1/offices/{office.id}/appointments", json=body, headers=office.clerk.headers)
    assert walk_in.status_code == 409

    url = f"/api/v1/ballots/{ballot['id']}/draw"
    other = await other_clerk(client, runtime, admin)
    assert (await client.post(url, headers=other.headers)).status_code == 404
    drawn = await client.post(url, headers=office.clerk.headers)
    assert drawn.status_code == 200 and drawn.json()["state"] == "drawn" and len(drawn.json()["winners"]) == 4
    assert (await client.post(url, headers=office.clerk.headers)).json()["code"] == "ballot-already-drawn"
    async with runtime.db.raw() as conn:
        audits = await conn.fetch("SELECT actor_id, outcome FROM audit_entry WHERE action = 'ballot.draw' ORDER BY id")
    assert [(a["actor_id"], a["outcome"]) for a in audits] == [
        (office.clerk.id, "ok"), (office.clerk.id, "refused:ballot-already-drawn")]
    # 6 seats, 4 winners (the earliest seats first): the rest is first come again
    assert [s["booked"] for s in await _slots(client, office)] == [3, 1]
    booked = await client.post("/api/v1/appointments", json={**body, "slot_id": (await _slots(client, office))[1]["id"]},
                               headers=late.headers)
    assert booked.status_code == 201, booked.text


async def test_a_clerk_cannot_draw_before_the_moment(client, runtime, admin, clock):
    office = await peak_office(client, runtime, admin)
    ballot = await set_up_ballot(client, office)
    clock.set(datetime(2027, 5, 2, 1, 59, tzinfo=UTC))
    early = await client.post(f"/api/v1/ballots/{ballot['id']}/draw", headers=office.clerk.headers)
    assert early.status_code == 409 and early.json()["code"] == "ballot-draw-not-due"
    assert await draw_due(runtime) == 0
    clock.set(AFTER_DRAW)
    assert await draw_due(runtime) == 1  # no entries: drawn all the same, nobody won
    public = (await client.get(f"/api/v1/ballots/{ballot['id']}")).json()
    assert public["winners"] == [] and public["entry_ids"] == []


async def test_the_waitlisted_are_told_by_sms_too(client, runtime, admin, clock):
    """Every notice has an SMS form: the ballot's were bare strings, which the SMS channel
    could not send (the row failed with an AttributeError)."""
    office = await peak_office(client, runtime, admin, capacity=1)
    ballot = await set_up_ballot(client, office)
    clock.set(IN_WINDOW)
    couples = await make_couples(runtime, 3)
    await enter_all(client, ballot["id"], couples)
    clock.set(AFTER_DRAW)
    await draw_due(runtime)
    await sweep(runtime)
    async with runtime.db.raw() as conn:
        rows = await conn.fetch("SELECT state, last_error, payload->>'position' AS position FROM notification "
                                "WHERE kind = 'ballot.waitlisted' AND channel = 'sms' ORDER BY 3")
    assert [(r["state"], r["last_error"], r["position"]) for r in rows] == [("sent", None, "1")]
    assert len(channels(runtime).sms.sent) >= 1
