"""Events and sign-ups through the HTTP API, on PostgreSQL: organisers' events, sign-ups,
the waitlist, approval, the desk, invites and the public feed."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import uuid
from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
import vobject

from booking.clock import FixedClock
from booking.events.schemas import EventOut, SignupOut
from booking.notifications.delivery import deliver
from tests.events_helpers import create_event, event_body, signup_body
from tests.factories import couple_parties, make_actor, office_with_clerk

pytestmark = pytest.mark.asyncio
SH = ZoneInfo("Asia/Shanghai")


def no_full_numbers(text: str, parties: list[dict[str, Any]]) -> bool:
    # a number too short to be anyone's ("123", a bad phone) would also be found in any
    # UUID the answer carries: only numbers of a real length count
    numbers = [v for p in parties for v in (p["id_number"], p["phone"]) if len(v) >= 7]
    return all(n not in text for n in numbers)


async def outbox(runtime, **where: Any) -> list[dict[str, Any]]:
    clauses = " AND ".join(f"{k} = ${i + 1}" for i, k in enumerate(where)) or "true"
    async with runtime.db.raw() as conn:
        rows = await conn.fetch(f"SELECT kind, channel, state, subject_id, sequence, due_at, payload::text AS payload "
                                f"FROM notification WHERE {clauses} ORDER BY created_at, kind, channel", *where.values())
    return [dict(r) for r in rows]


async def counters(runtime, event_id: str) -> tuple[int, int, int]:
    async with runtime.db.raw() as conn:
        row = await conn.fetchrow("SELECT places_taken, guest_seats_taken, waitlisted FROM event WHERE id = $1",
                                  uuid.UUID(event_id))
    return row["places_taken"], row["guest_seats_taken"], row["waitlisted"]


async def test_organiser_creates_edits_and_public_reads(client, runtime, admin, couple):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    other_id, other_clerk = await office_with_clerk(client, runtime, admin, code="OTHER")
    created = await create_event(client, clerk, office_id, guests_per_couple=2, guest_seats=15)
    assert created["starts_at"] == "2026-10-10T10:00:00+08:00" and created["timezone"] == "Asia/Shanghai"
    assert created["eligibility"] == {"registered_within_months": 12, "allow_upcoming_appointment": True,
                                      "max_age": None}
    assert created["remaining_places"] == 10 and created["remaining_guest_seats"] == 15
    assert created["signup_open"] is True and created["requires_approval"] is False
    assert EventOut.model_validate(created).id  # the documented schema holds

    listed = await client.get("/api/v1/events", headers={"Accept-Language": "en"})
    assert listed.status_code == 200 and [e["id"] for e in listed.json()["data"]] == [created["id"]]
    assert listed.json()["data"][0]["title"] == "Tianhe National Day Collective Wedding"
    assert (await client.get(f"/api/v1/events?office_id={other_id}")).json()["total"] == 0
    assert (await client.get("/api/v1/events?kind=memorial")).json()["total"] == 0
    assert (await client.get("/api/v1/events?from=2026-10-10&to=2026-10-10")).json()["total"] == 1
    assert (await client.get("/api/v1/events?from=2026-10-11")).json()["total"] == 0
    detail = await client.get(f"/api/v1/events/{created['id']}")
    assert detail.status_code == 200 and detail.json()["title"] == "天河区国庆集体婚礼"

    # only the office's clerks (and admins) organise; another office's clerk sees 404
    for method, path, body in (
        ("PATCH", f"/api/v1/events/{created['id']}", {"capacity": 12}),
        ("POST", f"/api/v1/events/{created['id']}/cancel", {"reason": "x"}),
        ("GET", f"/api/v1/events/{created['id']}/signups", None),
        ("GET", f"/api/v1/events/{created['id']}/signups.csv", None),
        ("GET", f"/api/v1/events/{created['id']}/pledges", None),
        ("POST", f"/api/v1/events/{created['id']}/check-in", {"code": "ABCD2345"}),
        ("POST", "/api/v1/events", event_body(office_id)),
    ):
        response = await client.request(method, path, json=body, headers=other_clerk.headers)
        assert response.status_code == 404, (method, path, response.text)
    assert (await client.post("/api/v1/events", json=event_body(office_id), headers=couple.headers)).status_code == 403
    assert (await client.post("/api/v1/events", json=event_body(office_id))).status_code == 401

    edited = await client.patch(f"/api/v1/events/{created['id']}", headers=clerk.headers,
                                json={"capacity": 12, "venue_en": "Tianhe Park, South Gate"})
    assert edited.status_code == 200, edited.text
    assert edited.json()["capacity"] == 12 and edited.json()["sequence"] == 1
    by_admin = await client.patch(f"/api/v1/events/{created['id']}", json={"capacity": 11}, headers=admin.headers)
    assert by_admin.status_code == 200 and by_admin.json()["sequence"] == 1  # capacity is not in the calendar
    audit = (await client.get(f"/api/v1/audit?office_id={office_id}", headers=admin.headers)).json()["data"]
    assert [(e["action"], e["outcome"]) for e in audit][::-1] == [
        ("office.create", "ok"), ("event.create", "ok"), ("event.update", "ok"), ("event.update", "ok")]


async def test_listing_dates_are_each_event_s_own(client, runtime, admin):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    # 23:30 on 10 October in Urumqi is already 11 October in Beijing
    urumqi = await create_event(client, clerk, office_id, timezone="Asia/Urumqi",
                                starts_at="2026-10-10T23:30:00+06:00", ends_at="2026-10-11T01:00:00+06:00")
    assert urumqi["starts_at"] == "2026-10-10T23:30:00+06:00"
    shanghai = await create_event(client, clerk, office_id, starts_at="2026-10-11T00:30:00+08:00",
                                  ends_at="2026-10-11T02:00:00+08:00")

    async def listed(query: str) -> list[str]:
        response = await client.get(f"/api/v1/events?{query}")
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()["data"]]

    assert await listed("from=2026-10-10&to=2026-10-10") == [urumqi["id"]]
    assert await listed("from=2026-10-11&to=2026-10-11") == [shanghai["id"]]
    assert await listed("to=2026-10-10") == [urumqi["id"]]
    # in order of the instant they start: 00:30 in Beijing is 22:30 in Urumqi
    assert await listed("from=2026-10-10") == [shanghai["id"], urumqi["id"]]
    # moving an event moves its date
    moved = await client.patch(f"/api/v1/events/{urumqi['id']}", headers=clerk.headers, json={
        "starts_at": "2026-10-12T09:00:00+06:00", "ends_at": "2026-10-12T11:00:00+06:00"})
    assert moved.status_code == 200, moved.text
    assert await listed("from=2026-10-10&to=2026-10-10") == []
    assert await listed("from=2026-10-12&to=2026-10-12") == [urumqi["id"]]


async def test_signups_take_today_in_the_venue_s_timezone(client, runtime, admin, couple, clock: FixedClock):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    event = await create_event(client, clerk, office_id)
    # 04:00 on 11 September in Guangzhou, still 10 September in UTC: married this morning
    # (registered at midnight on the day of a festival, say) is a possible marriage date
    clock.set(datetime(2026, 9, 11, 4, 0, tzinfo=SH))
    response = await client.post(f"/api/v1/events/{event['id']}/signups", headers=couple.headers,
                                 json=signup_body(marriage_date="2026-09-11"))
    assert response.status_code == 201, response.text
    assert response.json()["marriage_date"] == "2026-09-11" and response.json()["status"] == "confirmed"
    tomorrow = await client.post(f"/api/v1/events/{event['id']}/signups", headers=couple.headers,
                                 json=signup_body(couple_parties(), marriage_date="2026-09-12"))
    assert tomorrow.status_code == 422 and tomorrow.json()["errors"][0]["field"] == "marriage_date"


@pytest.mark.parametrize(("kind", "overrides", "field"), [
    ("memorial", {"eligibility": {}}, "eligibility.min_years_married"),
    ("memorial", {"eligibility": {"min_years_married": 50, "max_age": 45}}, "eligibility.max_age"),
    ("collective", {"eligibility": {"min_years_married": 5}}, "eligibility.min_years_married"),
    ("charity", {"requires_approval": False}, "requires_approval"),
    ("collective", {"ends_at": "2026-10-10T09:00:00+08:00"}, "ends_at"),
    ("collective", {"starts_at": "2026-09-01T10:00:00+08:00", "ends_at": "2026-09-01T12:00:00+08:00"}, "starts_at"),
    ("collective", {"signup_closes_at": "2026-10-11T00:00:00+08:00"}, "signup_closes_at"),
    ("collective", {"starts_at": "2026-10-10T10:00:00"}, "starts_at"),
    ("collective", {"capacity": 0}, "capacity"),
    ("party", {}, "kind"),
])
async def test_invalid_events_are_refused_with_the_field(client, runtime, admin, kind, overrides, field):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    response = await client.post("/api/v1/events", json=event_body(office_id, kind, **overrides),
                                 headers=clerk.headers)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]], response.json()
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM event") == 0


@pytest.mark.parametrize(("who", "method", "path", "body", "field"), [
    (None, "GET", "/api/v1/events?from=0001-01-01", None, "from"),
    (None, "GET", "/api/v1/events?to=9999-12-31", None, "to"),
    (None, "GET", "/api/v1/events?from=1899-12-31&to=2026-10-10", None, "from"),
    (None, "GET", "/api/v1/events?office_id=99999999999", None, "office_id"),
    (None, "GET", "/api/v1/events?offset=1e20", None, "offset"),
    (None, "GET", "/api/v1/events?offset=99999999999", None, "offset"),
    (None, "GET", "/api/v1/events?limit=99999999999", None, "limit"),
    (None, "GET", "/api/v1/calendars/offices/99999999999/events.ics", None, "office_id"),
    ("clerk", "GET", "/api/v1/events/{event}/signups?offset=1e20", None, "offset"),
    ("clerk", "GET", "/api/v1/events/{event}/signups?offset=99999999999", None, "offset"),
    ("couple", "GET", "/api/v1/signups?offset=99999999999", None, "offset"),
    ("admin", "POST", "/api/v1/events", {"office_id": 99999999999}, "office_id"),
    ("clerk", "POST", "/api/v1/events", {"signup_opens_at": "0001-01-01T00:00:00+08:00"}, "signup_opens_at"),
    ("clerk", "POST", "/api/v1/events", {"starts_at": "9999-12-31T10:00:00-05:00",
                                         "ends_at": "9999-12-31T12:00:00-05:00"}, "starts_at"),
    ("clerk", "PATCH", "/api/v1/events/{event}", {"ends_at": "9999-12-31T23:59:00-05:00"}, "ends_at"),
    ("couple", "POST", "/api/v1/events/{event}/signups", {"marriage_date": "0001-01-01"}, "marriage_date"),
])
async def test_out_of_range_input_is_a_422_not_a_500(client, runtime, admin, couple, who, method, path, body,
                                                     field):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    event = await create_event(client, clerk, office_id)
    actor = {"clerk": clerk, "admin": admin, "couple": couple}.get(who)
    if body is not None:  # a valid body with the one field out of range
        base = signup_body() if path.endswith("/signups") else {} if method == "PATCH" else event_body(office_id)
        body = {**base, **body}
    response = await client.request(method, path.format(event=event["id"]), json=body,
                                    headers={**(actor.headers if actor else {}), "Accept-Language": "en"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "invalid-input"
    assert field in [e["field"] for e in response.json()["errors"]]
    async with runtime.db.raw() as conn:  # and nothing changed
        assert await conn.fetchval("SELECT count(*) FROM event") == 1
        assert await conn.fetchval("SELECT count(*) FROM signup") == 0
        assert await conn.fetchval("SELECT sequence FROM event") == 0


async def test_dates_at_the_bounds_are_accepted(client, runtime, admin):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    event = await create_event(client, clerk, office_id)
    listed = await client.get("/api/v1/events?from=1900-01-01&to=2199-12-31&offset=1000000&office_id=2147483647")
    assert listed.status_code == 200 and listed.json()["total"] == 0
    assert (await client.get("/api/v1/events?from=1900-01-01&to=2199-12-31")).json()["total"] == 1
    assert (await client.get("/api/v1/calendars/offices/2147483647/events.ics")).status_code == 404
    late = await client.patch(f"/api/v1/events/{event['id']}", json={"ends_at": "2199-12-31T23:00:00+08:00"},
                              headers=clerk.headers)
    assert late.status_code == 200, late.text


async def test_signup_waitlist_and_promotion_in_order(client, runtime, admin):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    event = await create_event(client, clerk, office_id, capacity=2)
    couples = [await make_actor(runtime, "couple") for _ in range(5)]
    all_parties = [couple_parties() for _ in couples]
    answers = []
    for actor, parties in zip(couples, all_parties, strict=True):
        response = await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(parties),
                                     headers=actor.headers)
        assert response.status_code == 201, response.text
        assert no_full_numbers(response.text, parties)
        answers.append(response.json())
    assert [(a["status"], a["waitlist_position"]) for a in answers] == [
        ("confirmed", None), ("confirmed", None), ("waitlisted", 1), ("waitlisted", 2), ("waitlisted", 3)]
    assert [a["arrival_no"] for a in answers] == [1, 2, 3, 4, 5]
    assert msgspec.convert(answers[0], SignupOut).eligible_by == "marriage_date"
    assert (await client.get(f"/api/v1/events/{event['id']}")).json()["remaining_places"] == 0
    assert await counters(runtime, event["id"]) == (2, 0, 3)

    # the second waitlisted couple leaves: the third moves up to 2
    left = await client.post(f"/api/v1/signups/{answers[3]['id']}/cancel", headers=couples[3].headers)
    assert left.status_code == 200 and left.json()["status"] == "cancelled"
    third = await client.get(f"/api/v1/signups/{answers[4]['id']}", headers=couples[4].headers)
    assert third.json()["waitlist_position"] == 2
    # a confirmed couple cancels: the head of the waitlist is promoted at once, in the same transaction
    cancelled = await client.post(f"/api/v1/signups/{answers[0]['id']}/cancel", headers=couples[0].headers)
    assert cancelled.status_code == 200
    promoted = await client.get(f"/api/v1/signups/{answers[2]['id']}", headers=couples[2].headers)
    assert promoted.json()["status"] == "confirmed" and promoted.json()["waitlist_position"] is None
    assert promoted.json()["sequence"] == 1
    third = await client.get(f"/api/v1/signups/{answers[4]['id']}", headers=couples[4].headers)
    assert third.json()["status"] == "waitlisted" and third.json()["waitlist_position"] == 1
    assert await counters(runtime, event["id"]) == (2, 0, 1)

    rows = await outbox(runtime, subject_id=uuid.UUID(answers[2]["id"]))
    assert sorted((r["kind"], r["channel"], r["sequence"]) for r in rows) == [
        ("event.reminder", "email", 1), ("event.reminder", "sms", 1),
        ("signup.promoted", "email", 1), ("signup.promoted", "sms", 1),
        ("signup.waitlisted", "email", 0), ("signup.waitlisted", "sms", 0)]
    reminder = next(r for r in rows if r["kind"] == "event.reminder")
    assert reminder["due_at"] == datetime(2026, 10, 9, 18, 0, tzinfo=SH)  # the evening before, venue time
    cancelled_rows = await outbox(runtime, subject_id=uuid.UUID(answers[0]["id"]))
    assert Counter((r["kind"], r["state"]) for r in cancelled_rows) == {
        ("signup.confirmed", "pending"): 2, ("event.reminder", "cancelled"): 2, ("signup.cancelled", "pending"): 2}

    # a cancelled couple may sign up again: at the end of the queue
    again = await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(all_parties[0]),
                              headers=couples[0].headers)
    assert again.status_code == 201 and again.json()["status"] == "waitlisted"
    assert again.json()["waitlist_position"] == 2 and again.json()["arrival_no"] == 6
    mine = await client.get("/api/v1/signups", headers=couples[0].headers)
    assert [s["status"] for s in mine.json()["data"]] == ["waitlisted", "cancelled"]
    # nobody else sees a sign-up; the organisers do
    stranger = await make_actor(runtime, "couple")
    other_id, other_clerk = await office_with_clerk(client, runtime, admin, code="OTHER")
    for actor in (stranger, other_clerk):
        assert (await client.get(f"/api/v1/signups/{answers[1]['id']}", headers=actor.headers)).status_code == 404
        assert (await client.post(f"/api/v1/signups/{answers[1]['id']}/cancel",
                                  headers=actor.headers)).status_code == 404
    assert (await client.get(f"/api/v1/signups/{answers[1]['id']}", headers=clerk.headers)).status_code == 200


async def test_a_couple_s_list_reads_in_batches_and_matches_each_sign_up(client, runtime, admin):
    from sqlalchemy import event as sa_event

    office_id, clerk = await office_with_clerk(client, runtime, admin)
    x, y, z = [await make_actor(runtime, "couple") for _ in range(3)]
    people = {actor.id: couple_parties() for actor in (x, y, z)}

    async def sign(actor, event, **extra):
        response = await client.post(f"/api/v1/events/{event['id']}/signups", headers=actor.headers,
                                     json=signup_body(people[actor.id], **extra))
        assert response.status_code == 201, response.text
        return response.json()

    confirmed = await create_event(client, clerk, office_id, capacity=1, title_en="A")
    full = await create_event(client, clerk, office_id, capacity=1, title_en="B")
    left = await create_event(client, clerk, office_id, title_en="C")
    charity = await create_event(client, clerk, office_id, "charity", capacity=1, title_en="D")
    await sign(x, confirmed)
    for actor in (y, z, x):  # x waits second in line
        await sign(actor, full)
    await client.post(f"/api/v1/signups/{(await sign(x, left))['id']}/cancel", headers=x.headers)
    await client.patch(f"/api/v1/events/{full['id']}", json={"title_en": "B, moved"}, headers=clerk.headers)
    await sign(x, charity, marriage_date=None)
    await sign(y, confirmed)  # y: one sign-up, waitlisted

    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):  # noqa: ANN001, ANN202
        statements.append(statement)

    engine = runtime.db.engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        many = await client.get("/api/v1/signups", headers=x.headers)
        for_many = len(statements)
        statements.clear()
        one = await client.get("/api/v1/signups?limit=1", headers=y.headers)
        for_one = len(statements)
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert many.status_code == one.status_code == 200
    assert for_many == for_one  # not one more query per sign-up

    listed = many.json()["data"]
    assert [(s["status"], s["waitlist_position"]) for s in listed] == [
        ("pending_approval", None), ("cancelled", None), ("waitlisted", 2), ("confirmed", None)]
    assert listed[2]["sequence"] == 1  # the event's SEQUENCE, raised by the edit
    for body in listed:  # the same body as each sign-up on its own
        assert (await client.get(f"/api/v1/signups/{body['id']}", headers=x.headers)).json() == body
    assert one.json()["data"][0]["waitlist_position"] == 1
    by_desk = (await client.get(f"/api/v1/events/{full['id']}/signups", headers=clerk.headers)).json()["data"]
    assert [s["waitlist_position"] for s in by_desk] == [None, 1, 2] and by_desk[2] == listed[2]


async def test_one_active_signup_per_person_per_event(client, runtime, admin, couple):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    event = await create_event(client, clerk, office_id)
    other_event = await create_event(client, clerk, office_id, title_en="Second")
    parties = couple_parties()
    first = await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(parties),
                              headers=couple.headers)
    assert first.status_code == 201
    # the bride again, with another groom, from another account, her number typed in lower case
    other = await make_actor(runtime, "couple")
    again = [couple_parties()[0], {**parties[1], "id_number": parties[1]["id_number"].lower()}]
    response = await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(again),
                                 headers={**other.headers, "Accept-Language": "en"})
    assert response.status_code == 409 and response.json()["code"] == "already-signed-up"
    assert response.json()["party"] == 2 and response.json()["title"] == "A party is already signed up for this event."
    assert no_full_numbers(response.text, again)
    assert await counters(runtime, event["id"]) == (1, 0, 0)
    # another event is another matter
    assert (await client.post(f"/api/v1/events/{other_event['id']}/signups", json=signup_body(parties),
                              headers=couple.headers)).status_code == 201
    # the same two people are not a new couple because the order is swapped
    swapped = await client.post(f"/api/v1/events/{event['id']}/signups",
                                json=signup_body([parties[1], parties[0]]), headers=couple.headers)
    assert swapped.status_code == 409 and swapped.json()["party"] == 1
    # once cancelled, the bride may sign up with her groom again
    await client.post(f"/api/v1/signups/{first.json()['id']}/cancel", headers=couple.headers)
    assert (await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(again),
                              headers=other.headers)).status_code == 201


async def test_invalid_signups_change_nothing(client, runtime, admin, couple):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    event = await create_event(client, clerk, office_id, guests_per_couple=2)
    groom, bride = couple_parties()
    cases = [
        (signup_body([groom, {**bride, "id_number": groom["id_number"]}]), "parties.1.id_number"),
        (signup_body([groom, {**bride, "id_number": couple_parties()[0]["id_number"]}]), "parties"),
        (signup_body([groom, {**bride, "phone": "123"}]), "parties.1.phone"),
        (signup_body([groom]), "parties"),
        (signup_body(guests=3), "guests"),
        (signup_body(pledge={"amount": "100.00", "cause": "助学"}), "pledge"),
        (signup_body(contact={"name": "张小明", "phone": "555"}), "contact.phone"),
        (signup_body(marriage_date="2026-02-30"), "marriage_date"),
    ]
    for body, field in cases:
        response = await client.post(f"/api/v1/events/{event['id']}/signups", json=body, headers=couple.headers)
        assert response.status_code == 422, (field, response.text)
        assert field in [e["field"] for e in response.json()["errors"]], response.json()
        assert no_full_numbers(response.text, body["parties"])
    assert (await client.post(f"/api/v1/events/{uuid.uuid4()}/signups", json=signup_body(),
                              headers=couple.headers)).status_code == 404
    assert (await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(),
                              headers=clerk.headers)).status_code == 403
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM signup") == 0
        assert await conn.fetchval("SELECT count(*) FROM notification") == 0
    assert await counters(runtime, event["id"]) == (0, 0, 0)


async def test_signup_window(client, runtime, admin, couple, clock: FixedClock):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    event = await create_event(client, clerk, office_id, signup_opens_at="2026-09-20T09:00:00+08:00",
                               signup_closes_at="2026-10-01T00:00:00+08:00")
    assert event["signup_open"] is False
    early = await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(),
                              headers={**couple.headers, "Accept-Language": "en"})
    assert early.status_code == 409 and early.json()["code"] == "signups-not-open"
    assert early.json()["opens_at"] == "2026-09-20T09:00:00+08:00"
    assert "2026-09-20T09:00:00+08:00" in early.json()["detail"]
    clock.set(datetime(2026, 9, 20, 9, 0, tzinfo=SH))
    assert (await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(),
                              headers=couple.headers)).status_code == 201
    clock.set(datetime(2026, 10, 1, 0, 0, tzinfo=SH))
    late = await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(), headers=couple.headers)
    assert late.status_code == 409 and late.json()["code"] == "signups-closed"


async def test_idempotent_signup(client, runtime, admin, couple):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    event = await create_event(client, clerk, office_id, capacity=1)
    other_event = await create_event(client, clerk, office_id)
    body = signup_body()
    headers = {**couple.headers, "Idempotency-Key": "signup-7f3a"}
    first = await client.post(f"/api/v1/events/{event['id']}/signups", json=body, headers=headers)
    second = await client.post(f"/api/v1/events/{event['id']}/signups", json=body, headers=headers)
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert first.json()["status"] == "confirmed"
    other_body = await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(), headers=headers)
    assert other_body.status_code == 409 and other_body.json()["code"] == "idempotency-key-reused"
    other_path = await client.post(f"/api/v1/events/{other_event['id']}/signups", json=body, headers=headers)
    assert other_path.status_code == 409 and other_path.json()["code"] == "idempotency-key-reused"
    assert await counters(runtime, event["id"]) == (1, 0, 0)
    # the event fills and closes: a retry still gets its first answer
    await client.post(f"/api/v1/events/{event['id']}/cancel", json={"reason": "暴雨"}, headers=clerk.headers)
    third = await client.post(f"/api/v1/events/{event['id']}/signups", json=body, headers=headers)
    assert third.status_code == 201 and third.json() == first.json()


async def test_idempotent_event_creation(client, runtime, admin):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    body = event_body(office_id)
    headers = {**clerk.headers, "Idempotency-Key": "event-2026-national-day"}
    first = await client.post("/api/v1/events", json=body, headers=headers)
    assert first.status_code == 201, first.text
    # the event changes since; a retry still gets the first answer, and creates nothing
    await client.patch(f"/api/v1/events/{first.json()['id']}", json={"capacity": 20}, headers=clerk.headers)
    retry = await client.post("/api/v1/events", json=body, headers=headers)
    assert retry.status_code == 201 and retry.json() == first.json() and retry.json()["capacity"] == 10
    other_body = await client.post("/api/v1/events", json=event_body(office_id, capacity=11),
                                   headers={**headers, "Accept-Language": "en"})
    assert other_body.status_code == 409 and other_body.json()["code"] == "idempotency-key-reused"
    assert other_body.headers["content-type"].startswith("application/problem+json")
    assert other_body.json()["title"] == "This Idempotency-Key was already used for a different request."
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM event") == 1
        assert await conn.fetchval("SELECT count(*) FROM audit_entry WHERE action = 'event.create'") == 1
    # a key is the caller's own: another clerk's same key is another request
    colleague = await make_actor(runtime, "clerk", office_id)
    theirs = await client.post("/api/v1/events", json=body,
                               headers={**colleague.headers, "Idempotency-Key": "event-2026-national-day"})
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
    # a request the service refuses stores no answer: the key stays free for the corrected one
    fixed = await client.post("/api/v1/events", json=event_body(office_id, ends_at="2026-10-10T09:00:00+08:00"),
                              headers={**clerk.headers, "Idempotency-Key": "event-fixed-later"})
    assert fixed.status_code == 422 and fixed.json()["errors"][0]["field"] == "ends_at"
    corrected = await client.post("/api/v1/events", json=event_body(office_id, title_en="Corrected"),
                                  headers={**clerk.headers, "Idempotency-Key": "event-fixed-later"})
    assert corrected.status_code == 201 and corrected.json()["title_en"] == "Corrected"


async def test_guest_seats_are_a_second_limit(client, runtime, admin):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    strict = await create_event(client, clerk, office_id, capacity=5, guests_per_couple=3, guest_seats=4)
    lenient = await create_event(client, clerk, office_id, capacity=5, guests_per_couple=3, guest_seats=4,
                                 waitlist_skip_unfit=True)
    results: dict[str, list[dict[str, Any]]] = {}
    for event in (strict, lenient):
        answers = []
        for guests in (3, 2, 0):
            actor = await make_actor(runtime, "couple")
            response = await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(guests=guests),
                                         headers=actor.headers)
            assert response.status_code == 201, response.text
            answers.append({**response.json(), "actor": actor})
        results[event["id"]] = answers
    # places are free, but 2 guests do not fit the one seat left: strict order makes the next
    # couple (no guests) wait behind them; the lenient event lets them in
    assert [a["status"] for a in results[strict["id"]]] == ["confirmed", "waitlisted", "waitlisted"]
    assert [a["status"] for a in results[lenient["id"]]] == ["confirmed", "waitlisted", "confirmed"]
    assert await counters(runtime, strict["id"]) == (1, 3, 2)
    assert await counters(runtime, lenient["id"]) == (2, 3, 1)
    # the 3-guest couple leaves: both waiting couples fit now and are promoted in order
    first = results[strict["id"]][0]
    await client.post(f"/api/v1/signups/{first['id']}/cancel", headers=first["actor"].headers)
    statuses = [(await client.get(f"/api/v1/signups/{a['id']}", headers=a["actor"].headers)).json()["status"]
                for a in results[strict["id"]]]
    assert statuses == ["cancelled", "confirmed", "confirmed"]
    assert await counters(runtime, strict["id"]) == (2, 2, 0)
    # raising the guest seats also promotes
    blocked = results[lenient["id"]][1]
    raised = await client.patch(f"/api/v1/events/{lenient['id']}", json={"guest_seats": 5}, headers=clerk.headers)
    assert raised.status_code == 200 and raised.json()["remaining_guest_seats"] == 0
    assert (await client.get(f"/api/v1/signups/{blocked['id']}",
                             headers=blocked["actor"].headers)).json()["status"] == "confirmed"


async def test_capacity_changes(client, runtime, admin):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    event = await create_event(client, clerk, office_id, capacity=1)
    ids = []
    for _ in range(3):
        actor = await make_actor(runtime, "couple")
        ids.append((await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(),
                                      headers=actor.headers)).json()["id"])
    raised = await client.patch(f"/api/v1/events/{event['id']}", json={"capacity": 2}, headers=clerk.headers)
    assert raised.status_code == 200
    assert (raised.json()["places_taken"], raised.json()["waitlisted"]) == (2, 1)
    listed = await client.get(f"/api/v1/events/{event['id']}/signups", headers=clerk.headers)
    assert [(s["id"], s["status"]) for s in listed.json()["data"]] == [
        (ids[0], "confirmed"), (ids[1], "confirmed"), (ids[2], "waitlisted")]
    assert listed.json()["counts"] == {"confirmed": 2, "waitlisted": 1}
    lowered = await client.patch(f"/api/v1/events/{event['id']}", json={"capacity": 1},
                                 headers={**clerk.headers, "Accept-Language": "en"})
    assert lowered.status_code == 409 and lowered.json()["code"] == "capacity-below-taken"
    assert lowered.json()["places_taken"] == 2
    assert (await client.get(f"/api/v1/events/{event['id']}")).json()["capacity"] == 2
    audit = (await client.get(f"/api/v1/audit?office_id={office_id}&action=event.update",
                              headers=admin.headers)).json()["data"]
    assert [e["outcome"] for e in audit] == ["refused:capacity-below-taken", "ok"]
    assert audit[1]["detail"]["promoted"] == 1


async def test_cancelled_event_tells_everyone(client, runtime, admin):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    event = await create_event(client, clerk, office_id, capacity=2)
    signed = []
    for _ in range(3):
        actor = await make_actor(runtime, "couple")
        response = await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(),
                                     headers=actor.headers)
        signed.append((response.json(), actor))
    other_id, other_clerk = await office_with_clerk(client, runtime, admin, code="OTHER")
    assert (await client.post(f"/api/v1/events/{event['id']}/cancel", json={"reason": "台风"},
                              headers=other_clerk.headers)).status_code == 404
    cancelled = await client.post(f"/api/v1/events/{event['id']}/cancel", json={"reason": "台风预警"},
                                  headers=clerk.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancel_reason"] == "台风预警"
    assert (cancelled.json()["places_taken"], cancelled.json()["waitlisted"]) == (0, 0)
    for body, actor in signed:
        one = (await client.get(f"/api/v1/signups/{body['id']}", headers=actor.headers)).json()
        assert one["status"] == "cancelled"
        rows = await outbox(runtime, subject_id=uuid.UUID(body["id"]))
        kinds = Counter((r["kind"], r["state"]) for r in rows)
        assert kinds[("event.cancelled", "pending")] == 2  # e-mail and SMS
        assert kinds[("event.reminder", "pending")] == 0
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM signup_party WHERE active") == 0
    again = await client.post(f"/api/v1/events/{event['id']}/cancel", json={"reason": "x"}, headers=clerk.headers)
    assert again.status_code == 409 and again.json()["code"] == "event-cancelled"
    late = await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(),
                             headers=signed[0][1].headers)
    assert late.status_code == 409 and late.json()["code"] == "event-cancelled"
    listed = await client.get("/api/v1/events")
    assert listed.json()["total"] == 0
    assert (await client.get("/api/v1/events?include_cancelled=true")).json()["total"] == 1
    invite = await client.get(f"/api/v1/signups/{signed[2][0]['id']}/invite.ics", headers=signed[2][1].headers)
    assert invite.status_code == 200 and vobject.readOne(invite.text).method.value == "CANCEL"


async def test_charity_approval_end_to_end(client, runtime, admin):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    other_id, other_clerk = await office_with_clerk(client, runtime, admin, code="OTHER")
    event = await create_event(client, clerk, office_id, "charity", capacity=2,
                               title_zh="爱心慈善婚礼", title_en="Charity Wedding")
    assert event["requires_approval"] is True
    a, b, c = [await make_actor(runtime, "couple") for _ in range(3)]
    base = f"/api/v1/events/{event['id']}/signups"
    first = (await client.post(base, headers=a.headers, json=signup_body(
        marriage_date=None, pledge={"amount": "5000.5", "cause": "乡村小学图书室"}))).json()
    second = (await client.post(base, headers=b.headers, json=signup_body(
        marriage_date=None, sponsor={"name": "白云区爱心企业联合会"}))).json()
    third = (await client.post(base, headers=c.headers, json=signup_body(
        marriage_date=None, pledge={"amount": 1200, "cause": "助学"}))).json()
    assert [s["status"] for s in (first, second, third)] == ["pending_approval", "pending_approval", "waitlisted"]
    assert first["pledge"] == {"amount": "5000.50", "cause": "乡村小学图书室"}
    assert second["sponsor"] == {"name": "白云区爱心企业联合会"}

    decision = f"/api/v1/signups/{first['id']}/decision"
    assert (await client.post(decision, json={"decision": "approve"}, headers=other_clerk.headers)).status_code == 404
    assert (await client.post(decision, json={"decision": "approve"}, headers=a.headers)).status_code == 403
    no_reason = await client.post(f"/api/v1/signups/{second['id']}/decision", json={"decision": "reject"},
                                  headers=clerk.headers)
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"

    approved = await client.post(decision, json={"decision": "approve"}, headers=clerk.headers)
    assert approved.status_code == 200 and approved.json()["status"] == "confirmed"
    rejected = await client.post(f"/api/v1/signups/{second['id']}/decision", headers=clerk.headers,
                                 json={"decision": "reject", "reason": "不符合资助条件"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert rejected.json()["decision_reason"] == "不符合资助条件"
    # the rejected couple's place went to the waitlist at once; it too awaits approval
    promoted = await client.get(f"/api/v1/signups/{third['id']}", headers=c.headers)
    assert promoted.json()["status"] == "pending_approval"
    twice = await client.post(decision, json={"decision": "approve"}, headers=clerk.headers)
    assert twice.status_code == 409 and twice.json()["code"] == "invalid-status"
    seen_by_couple = await client.get(f"/api/v1/signups/{second['id']}", headers=b.headers)
    assert seen_by_couple.json()["decision_reason"] == "不符合资助条件"

    pledges = await client.get(f"/api/v1/events/{event['id']}/pledges", headers=clerk.headers)
    assert pledges.status_code == 200
    assert (pledges.json()["pledges"], pledges.json()["sponsored"]) == (2, 0)
    assert pledges.json()["total_pledged"] == "6200.50" and pledges.json()["total_pledged_confirmed"] == "5000.50"
    assert [e["code"] for e in pledges.json()["data"]] == [first["code"], third["code"]]

    kinds = Counter(r["kind"] for r in await outbox(runtime))
    assert kinds["signup.received"] == 4 and kinds["signup.waitlisted"] == 2
    assert kinds["signup.decided"] == 4 and kinds["signup.promoted"] == 2 and kinds["event.reminder"] == 2
    audit = (await client.get(f"/api/v1/audit?office_id={office_id}&action=signup.decide",
                              headers=admin.headers)).json()["data"]
    assert [(e["outcome"], e["detail"].get("decision")) for e in audit] == [
        ("refused:invalid-status", None), ("ok", "reject"), ("ok", "approve")]


async def test_desk_check_in_attendance_and_export(client, runtime, admin, clock: FixedClock):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    other_id, other_clerk = await office_with_clerk(client, runtime, admin, code="OTHER")
    event = await create_event(client, clerk, office_id, capacity=2, guests_per_couple=2)
    people, signed = [], []
    for index in range(3):
        actor = await make_actor(runtime, "couple")
        parties = couple_parties()
        if index == 0:
            parties[0]["name"] = "=HYPERLINK(\"x\")"
        body = signup_body(parties, guests=index, contact={"name": "张小明", "phone": "13700001111"})
        signed.append(((await client.post(f"/api/v1/events/{event['id']}/signups", json=body,
                                          headers=actor.headers)).json(), actor))
        people.append(parties)
    confirmed, second, waiting = (s for s, _a in signed)
    check_in = f"/api/v1/events/{event['id']}/check-in"
    early = await client.post(check_in, json={"code": confirmed["code"]}, headers=clerk.headers)
    assert early.status_code == 409

    clock.set(datetime(2026, 10, 10, 9, 30, tzinfo=SH))
    code = confirmed["code"][:4].lower() + "-" + confirmed["code"][4:]
    assert (await client.post(check_in, json={"code": code}, headers=other_clerk.headers)).status_code == 404
    checked = await client.post(check_in, json={"code": code}, headers=clerk.headers)
    assert checked.status_code == 200 and checked.json()["status"] == "attended"
    again = await client.post(check_in, json={"code": code}, headers={**clerk.headers, "Accept-Language": "en"})
    assert again.status_code == 409 and again.json()["detail"] == "This couple has already checked in."
    assert (await client.post(check_in, json={"code": waiting["code"]}, headers=clerk.headers)).status_code == 409
    assert (await client.post(check_in, json={"code": "ZZZZ9999"}, headers=clerk.headers)).status_code == 404

    attendance = f"/api/v1/signups/{second['id']}/attendance"
    assert (await client.post(attendance, json={"attended": False}, headers=clerk.headers)).status_code == 409
    clock.set(datetime(2026, 10, 10, 12, 30, tzinfo=SH))
    assert (await client.post(attendance, json={"attended": False},
                              headers=other_clerk.headers)).status_code == 404
    absent = await client.post(attendance, json={"attended": False}, headers=clerk.headers)
    assert absent.status_code == 200 and absent.json()["status"] == "no_show"
    listed = await client.get(f"/api/v1/events/{event['id']}/signups", headers=clerk.headers)
    assert listed.json()["counts"] == {"attended": 1, "no_show": 1, "waitlisted": 1}
    assert all(no_full_numbers(listed.text, p) for p in people) and "13700001111" not in listed.text

    masked = await client.get(f"/api/v1/events/{event['id']}/signups.csv", headers=clerk.headers)
    assert masked.status_code == 200 and masked.headers["content-type"].startswith("text/csv")
    assert masked.headers["content-type"].count("charset") == 1
    assert masked.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(masked.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["签到码", "状态", "报名顺序"] and len(rows) == 4
    assert [r[1] for r in rows[1:]] == ["attended", "no_show", "waitlisted"]
    assert rows[1][5] == "'=HYPERLINK(\"x\")"  # no formula reaches a spreadsheet
    assert all(no_full_numbers(masked.text, p) for p in people) and "13700001111" not in masked.text
    revealed = await client.get(f"/api/v1/events/{event['id']}/signups.csv?reveal=true",
                                headers={**clerk.headers, "Accept-Language": "en"})
    text = revealed.content.decode("utf-8-sig")
    assert text.startswith("Check-in code,Status,Arrival")
    assert all(p["id_number"] in text and p["phone"] in text for parties in people for p in parties)
    one = await client.post(f"/api/v1/signups/{waiting['id']}/reveal", headers=clerk.headers)
    assert [p["id_number"] for p in one.json()["parties"]] == [p["id_number"] for p in people[2]]
    assert one.json()["contact_phone"] == "13700001111"
    assert (await client.post(f"/api/v1/signups/{waiting['id']}/reveal",
                              headers=other_clerk.headers)).status_code == 404
    audit = (await client.get(f"/api/v1/audit?office_id={office_id}", headers=admin.headers))
    entries = [(e["action"], e["outcome"], e["detail"].get("revealed")) for e in audit.json()["data"]]
    assert ("signup.export", "ok", False) in entries and ("signup.export", "ok", True) in entries
    assert ("party.reveal", "ok", None) in entries and ("signup.check_in", "refused:invalid-status", None) in entries
    assert all(no_full_numbers(audit.text, p) for p in people)


async def test_invite_and_office_feed_parse(client, runtime, admin, couple):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    event = await create_event(client, clerk, office_id, capacity=1, venue_en="Hall; A, \"B\"",
                               description_en="Dress code.\r\nATTENDEE:mailto:x@evil.example\r\nDTSTART:19700101")
    newline = await client.post("/api/v1/events", headers=clerk.headers,
                                json=event_body(office_id, venue_en="Hall\r\nATTENDEE:mailto:x@evil.example"))
    assert newline.status_code == 422 and newline.json()["errors"][0]["field"] == "venue_en"
    parties = couple_parties()
    signup = (await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(parties),
                                headers=couple.headers)).json()
    invite = await client.get(f"/api/v1/signups/{signup['id']}/invite.ics",
                              headers={**couple.headers, "Accept-Language": "en"})
    assert invite.status_code == 200 and invite.headers["content-type"].startswith("text/calendar")
    cal = vobject.readOne(invite.text)
    vevent = cal.vevent
    assert cal.method.value == "REQUEST" and vevent.status.value == "CONFIRMED"
    assert vevent.uid.value == f"signup-{signup['id']}@booking.marriage-registry"
    assert vevent.dtstart.value == datetime(2026, 10, 10, 10, 0, tzinfo=SH)
    assert "TZID=Asia/Shanghai" in invite.text and "BEGIN:VTIMEZONE" in invite.text and "BEGIN:VALARM" in invite.text
    assert vevent.summary.value == "Tianhe National Day Collective Wedding"
    assert vevent.location.value == "Hall; A, \"B\", 1 Tianfu Road, Guangzhou"
    assert len(vevent.contents["attendee"]) == 1 and couple.email in vevent.attendee.value
    assert "gz-test@registry.example" in vevent.organizer.value
    assert no_full_numbers(invite.text, parties)
    sequence = int(vevent.sequence.value)

    moved = await client.patch(f"/api/v1/events/{event['id']}", headers=clerk.headers,
                               json={"starts_at": "2026-10-10T14:00:00+08:00", "ends_at": "2026-10-10T16:00:00+08:00"})
    assert moved.status_code == 200
    update = vobject.readOne((await client.get(f"/api/v1/signups/{signup['id']}/invite.ics",
                                               headers=couple.headers)).text)
    assert update.vevent.uid.value == vevent.uid.value and int(update.vevent.sequence.value) == sequence + 1
    assert update.vevent.dtstart.value == datetime(2026, 10, 10, 14, 0, tzinfo=SH)
    assert update.vevent.summary.value == "天河区国庆集体婚礼"
    changed = await outbox(runtime, kind="event.changed")
    assert {r["channel"] for r in changed} == {"email", "sms"} and all(r["sequence"] == 1 for r in changed)
    reminders = await outbox(runtime, kind="event.reminder")
    assert sorted((r["sequence"], r["state"]) for r in reminders) == [
        (0, "cancelled"), (0, "cancelled"), (1, "pending"), (1, "pending")]

    waiting_couple = await make_actor(runtime, "couple")
    waiting = (await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(),
                                 headers=waiting_couple.headers)).json()
    refused = await client.get(f"/api/v1/signups/{waiting['id']}/invite.ics", headers=waiting_couple.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "signup-waitlisted"
    assert refused.headers["content-type"].startswith("application/problem+json")

    cancelled_event = await create_event(client, clerk, office_id, "memorial", title_en="Golden Wedding")
    await client.post(f"/api/v1/events/{cancelled_event['id']}/cancel", json={"reason": "场地维修"},
                      headers=clerk.headers)
    feed = await client.get(f"/api/v1/calendars/offices/{office_id}/events.ics", headers={"Accept-Language": "en"})
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    calendar = vobject.readOne(feed.text)
    assert calendar.method.value == "PUBLISH"
    entries = {e.uid.value: e for e in calendar.contents["vevent"]}
    assert set(entries) == {f"event-{event['id']}@booking.marriage-registry",
                            f"event-{cancelled_event['id']}@booking.marriage-registry"}
    ours = entries[f"event-{event['id']}@booking.marriage-registry"]
    assert ours.dtstart.value == datetime(2026, 10, 10, 14, 0, tzinfo=SH) and int(ours.sequence.value) == 1
    assert entries[f"event-{cancelled_event['id']}@booking.marriage-registry"].status.value == "CANCELLED"
    assert not any(line.startswith(("ATTENDEE", "DTSTART:1970")) for line in feed.text.splitlines())
    assert "BEGIN:VTIMEZONE" in feed.text and "x@evil.example" in ours.description.value
    assert no_full_numbers(feed.text, parties) and parties[0]["name"] not in feed.text
    assert (await client.get("/api/v1/calendars/offices/9999/events.ics")).status_code == 404


async def test_only_the_couple_s_own_invite_names_them(client, runtime, admin, couple):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    other_id, other_clerk = await office_with_clerk(client, runtime, admin, code="OTHER")
    event = await create_event(client, clerk, office_id)
    signup = (await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(),
                                headers=couple.headers)).json()
    path = f"/api/v1/signups/{signup['id']}/invite.ics"

    own = await client.get(path, headers=couple.headers)
    assert own.status_code == 200 and own.headers["content-type"].startswith("text/calendar; method=REQUEST")
    assert vobject.readOne(own.text).method.value == "REQUEST" and couple.email in own.text
    for staff in (clerk, admin):
        copy = await client.get(path, headers=staff.headers)
        assert copy.status_code == 200
        assert copy.headers["content-type"].startswith("text/calendar; method=PUBLISH")
        cal = vobject.readOne(copy.text)
        assert cal.method.value == "PUBLISH" and cal.vevent.status.value == "CONFIRMED"
        assert "attendee" not in cal.vevent.contents and "ATTENDEE" not in copy.text
        assert couple.email not in copy.text
        assert cal.vevent.uid.value == f"signup-{signup['id']}@booking.marriage-registry"
    assert (await client.get(path, headers=other_clerk.headers)).status_code == 404

    await client.post(f"/api/v1/signups/{signup['id']}/cancel", headers=couple.headers)
    own = vobject.readOne((await client.get(path, headers=couple.headers)).text)
    assert own.method.value == "CANCEL" and couple.email in own.vevent.attendee.value
    copy = await client.get(path, headers=clerk.headers)
    cal = vobject.readOne(copy.text)
    assert cal.method.value == "PUBLISH" and cal.vevent.status.value == "CANCELLED"
    assert "ATTENDEE" not in copy.text and couple.email not in copy.text


class CaptureMailer:
    """Keeps each e-mail as its recipient's client reads it (parsed from the wire bytes)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def send(self, mail: Any) -> None:
        self.messages.append(email.message_from_bytes(mail.data, policy=email.policy.default))


async def deliver_due(runtime) -> list[str]:
    async with runtime.db.raw() as conn:
        due = await conn.fetch("SELECT id FROM notification WHERE state = 'pending' AND due_at <= $1 "
                               "ORDER BY created_at, kind", runtime.clock.now())
    return [await deliver(runtime, r["id"]) for r in due]


async def test_couples_are_told_in_their_language(client, runtime, admin, clock: FixedClock):
    from booking.notifications.channels import Channels, LogSmsProvider, SmsRateLimiter

    mailer, sms = CaptureMailer(), LogSmsProvider()
    runtime.channels = Channels(mailer=mailer, sms=sms, sms_limiter=SmsRateLimiter(100))
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    event = await create_event(client, clerk, office_id, capacity=1)
    first, second = await make_actor(runtime, "couple"), await make_actor(runtime, "couple")
    one = (await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(locale="en"),
                             headers=first.headers)).json()
    two = (await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(
        contact={"name": "张小明", "phone": "13700002222"}), headers=second.headers)).json()
    assert await deliver_due(runtime) == ["sent"] * 4
    subjects = [m["Subject"] for m in mailer.messages]
    assert subjects[0].startswith("Place confirmed: Tianhe National Day Collective Wedding")
    assert subjects[1].startswith("已进入候补：天河区国庆集体婚礼") and two["waitlist_position"] == 1
    assert mailer.messages[1]["To"].addresses[0].addr_spec == second.email
    assert sms.sent[1][0] == "********222"  # the contact's phone, masked in the log
    invite = next(p for p in mailer.messages[0].walk() if p.get_content_type() == "text/calendar")
    assert invite.get_param("method") == "REQUEST"
    assert not any(p.get_content_type() == "text/calendar" for p in mailer.messages[1].walk())

    await client.post(f"/api/v1/signups/{one['id']}/cancel", headers=first.headers)
    assert sorted(await deliver_due(runtime)) == ["sent"] * 4  # the cancellation, the promotion
    cancel = next(m for m in mailer.messages[2:] if m["To"].addresses[0].addr_spec == first.email)
    assert cancel["Subject"].startswith("Sign-up cancelled")
    part = next(p for p in cancel.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == "CANCEL" and vobject.readOne(part.get_content()).vevent.uid.value == \
        f"signup-{one['id']}@booking.marriage-registry"
    promoted = next(m for m in mailer.messages[2:] if m["To"].addresses[0].addr_spec == second.email)
    assert promoted["Subject"] == "候补转正：天河区国庆集体婚礼的名额"

    await client.patch(f"/api/v1/events/{event['id']}", json={"venue_zh": "天河公园南门广场"}, headers=clerk.headers)
    assert await deliver_due(runtime) == ["sent"] * 2
    assert mailer.messages[-1]["Subject"].startswith("活动有变更：天河区国庆集体婚礼")
    assert "天河公园南门广场" in mailer.messages[-1].get_body(("plain",)).get_content()
    third = await make_actor(runtime, "couple")
    await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(), headers=third.headers)
    clock.set(datetime(2026, 10, 9, 18, 5, tzinfo=SH))
    assert await deliver_due(runtime) == ["sent"] * 4  # the waitlisting, and the reminder at the new SEQUENCE
    reminder = next(m for m in mailer.messages[-2:] if m["To"].addresses[0].addr_spec == second.email)
    assert reminder["Subject"].startswith("活动提醒")
    await client.post(f"/api/v1/events/{event['id']}/cancel", json={"reason": "台风预警"}, headers=clerk.headers)
    assert await deliver_due(runtime) == ["sent"] * 4
    told = {m["To"].addresses[0].addr_spec: m for m in mailer.messages[-2:]}
    assert "取消" in told[second.email]["Subject"]
    assert "台风预警" in told[second.email].get_body(("plain",)).get_content()
    calendars = {email: [p for p in m.walk() if p.get_content_type() == "text/calendar"] for email, m in told.items()}
    assert calendars[second.email][0].get_param("method") == "CANCEL"
    assert calendars[third.email] == []  # a waitlisted couple never had an invite to cancel


@pytest.mark.parametrize("how", ["couple cancels", "organiser cancels", "organiser rejects"])
async def test_a_waitlisted_head_leaving_unblocks_the_queue(client, runtime, admin, how):
    # strict order, 3 places, 2 guest seats: A takes both seats; B (1 guest) waits because
    # their guest does not fit; C (no guests) fits but waits behind B
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    event = await create_event(client, clerk, office_id, capacity=3, guests_per_couple=2, guest_seats=2)
    actors = [await make_actor(runtime, "couple") for _ in range(4)]
    signed = []
    for actor, guests in zip(actors[:3], (2, 1, 0), strict=True):
        response = await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(guests=guests),
                                     headers=actor.headers)
        assert response.status_code == 201, response.text
        signed.append(response.json())
    assert [s["status"] for s in signed] == ["confirmed", "waitlisted", "waitlisted"]
    assert await counters(runtime, event["id"]) == (1, 2, 2)

    head = signed[1]
    if how == "couple cancels":
        left = await client.post(f"/api/v1/signups/{head['id']}/cancel", headers=actors[1].headers)
    elif how == "organiser cancels":
        left = await client.post(f"/api/v1/signups/{head['id']}/cancel", headers=clerk.headers)
    else:
        left = await client.post(f"/api/v1/signups/{head['id']}/decision", headers=clerk.headers,
                                 json={"decision": "reject", "reason": "名额有限"})
    assert left.status_code == 200, left.text
    # the couple who fits is promoted at once, in the same transaction
    fitting = await client.get(f"/api/v1/signups/{signed[2]['id']}", headers=actors[2].headers)
    assert fitting.json()["status"] == "confirmed" and fitting.json()["waitlist_position"] is None
    assert await counters(runtime, event["id"]) == (2, 2, 0)
    assert [r["kind"] for r in await outbox(runtime, subject_id=uuid.UUID(signed[2]["id"]), channel="email")
            if r["kind"] == "signup.promoted"] == ["signup.promoted"]
    # and a new couple who fits takes the free place instead of queueing
    newcomer = await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(),
                                 headers=actors[3].headers)
    assert newcomer.status_code == 201 and newcomer.json()["status"] == "confirmed"
    assert await counters(runtime, event["id"]) == (3, 2, 0)


async def test_letting_fitting_couples_pass_promotes_them_at_once(client, runtime, admin):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    event = await create_event(client, clerk, office_id, capacity=3, guests_per_couple=2, guest_seats=2)
    actors = [await make_actor(runtime, "couple") for _ in range(3)]
    signed = [(await client.post(f"/api/v1/events/{event['id']}/signups", json=signup_body(guests=guests),
                                 headers=actor.headers)).json()
              for actor, guests in zip(actors, (2, 1, 0), strict=True)]
    assert [s["status"] for s in signed] == ["confirmed", "waitlisted", "waitlisted"]
    edited = await client.patch(f"/api/v1/events/{event['id']}", json={"waitlist_skip_unfit": True},
                                headers=clerk.headers)
    assert edited.status_code == 200 and (edited.json()["places_taken"], edited.json()["waitlisted"]) == (2, 1)
    statuses = [(await client.get(f"/api/v1/signups/{s['id']}", headers=a.headers)).json()["status"]
                for s, a in zip(signed, actors, strict=True)]
    assert statuses == ["confirmed", "waitlisted", "confirmed"]
