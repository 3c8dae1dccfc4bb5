"""A divorce case through the API on PostgreSQL with a fixed clock (issue 17): the booking
that stands only once the other party confirms, receipt, the cooling-off and the
certificate window with their ends moved past rest days by the official calendar,
withdrawal, the certificate visit inside and outside the window, the withdrawal by law."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from booking.clock import FixedClock
from booking.divorce.services.ending import close_lapsed_windows, expire_unconfirmed
from booking.divorce.services.periods import REST_DAYS
from booking.runtime import Runtime
from booking.schedules.official_calendar import DayKind, official_day
from tests.divorce_helpers import (
    CASES,
    DIVORCE,
    apply,
    at,
    confirm,
    divorce_office,
    received_case,
    slot_on,
    spouses,
)
from tests.factories import make_actor

pytestmark = pytest.mark.asyncio


def moved_past_rest_days(raw: date, moved: date) -> bool:
    """``moved`` is the first working day from ``raw`` on, by the holiday data itself."""
    days = [raw + timedelta(days=i) for i in range((moved - raw).days)]
    return (all(official_day(d).kind in REST_DAYS for d in days)
            and official_day(moved).kind in (DayKind.WORKDAY, DayKind.MAKEUP_WORKDAY))


async def notices(runtime: Runtime, kind: str) -> list[tuple[uuid.UUID | None, str, str]]:
    async with runtime.db.raw() as conn:
        return [(r["account_id"], r["locale"], r["state"]) for r in await conn.fetch(
            "SELECT account_id, locale, state FROM notification WHERE kind = $1 AND channel = 'email' "
            "ORDER BY created_at", kind)]


async def booked(runtime: Runtime, slot_id: int) -> int:
    async with runtime.db.raw() as conn:
        return await conn.fetchval("SELECT booked FROM slot WHERE id = $1", slot_id)


async def test_the_whole_case_with_its_deadlines_moved_past_national_day(client, runtime, admin, clock: FixedClock):
    office = await divorce_office(client, runtime, admin)
    him, her = await spouses(runtime)
    clock.set(at("2026-09-01"))
    slot = await slot_on(client, office, "2026-09-03")
    case = await apply(client, him, her, slot)
    assert case["state"] == "awaiting_confirmation" and case["next_step"] == "share_code_with_other_party"
    assert case["visits"][0]["status"] == "awaiting_party" and case["visits"][0]["awaiting"] == "other_party"
    assert case["other_party"] == {"position": 2, "name": her.party["name"], "confirmed": False}
    assert await booked(runtime, slot) == 1  # the seat is held meanwhile

    # she confirms with her own account: the booking stands, and the case is hers to see too
    confirmed = await confirm(client, her, case["visits"][0]["code"])
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["state"] == "application_booked" and confirmed.json()["you"]["position"] == 2
    assert (await client.get(f"{CASES}/{case['id']}", headers=him.headers)).json()["other_party"]["confirmed"]

    # receipt (受理) at the counter on 3 September: the cooling-off's 30 days end on 3
    # October, in the National Day holiday, and move to the first working day after it
    clock.set(at("2026-09-03", "09:20"))
    received = await client.post(f"{CASES}/{case['id']}/receipt", headers=office.headers(),
                                 json={"marriage_certificate_checked": True})
    assert received.status_code == 200, received.text
    got = received.json()
    assert got["state"] == "cooling_off" and got["received_on"] == "2026-09-03"
    raw_end = date(2026, 9, 3) + timedelta(days=30)
    assert official_day(raw_end).kind is DayKind.HOLIDAY and official_day(raw_end).holiday == "National Day"
    cooling_off_ends = date.fromisoformat(got["cooling_off_ends"])
    assert moved_past_rest_days(raw_end, cooling_off_ends) and cooling_off_ends > date(2026, 10, 7)
    window_ends = date.fromisoformat(got["window_ends"])
    assert moved_past_rest_days(cooling_off_ends + timedelta(days=30), window_ends)
    assert got["window_opens"] == (cooling_off_ends + timedelta(days=1)).isoformat()
    assert not got["dates_provisional"]

    # during the cooling-off no certificate visit can be booked
    clock.set(at("2026-09-20"))
    early = await client.post(f"{CASES}/{case['id']}/certificate-visit", headers=him.headers,
                              json={"slot_id": await slot_on(client, office, "2026-10-12")})
    assert early.status_code == 409 and early.json()["code"] == "outside-window"

    # the window is open: a visit after its end is refused, one inside it is booked
    clock.set(at((cooling_off_ends + timedelta(days=1)).isoformat()))
    late_day = (window_ends + timedelta(days=1)).isoformat()
    late = await client.post(f"{CASES}/{case['id']}/certificate-visit", headers=him.headers,
                             json={"slot_id": await slot_on(client, office, late_day)})
    assert late.status_code == 409 and late.json()["code"] == "outside-window"
    inside = await client.post(f"{CASES}/{case['id']}/certificate-visit", headers=him.headers,
                               json={"slot_id": await slot_on(client, office, "2026-10-12")})
    assert inside.status_code == 201, inside.text
    assert inside.json()["next_step"] == "wait_for_other_party"
    hers = (await client.get(f"{CASES}/{case['id']}", headers=her.headers)).json()
    assert hers["state"] == "certificate_window" and hers["next_step"] == "confirm_certificate_visit"
    confirmed_visit = await client.post(f"{CASES}/{case['id']}/certificate-visit/confirm", headers=her.headers)
    assert confirmed_visit.status_code == 200, confirmed_visit.text
    assert confirmed_visit.json()["next_step"] == "attend_certificate_visit"

    # both are reminded the day before, each by their own account, in their own language
    # (derived when the sweep reaches the moment)
    from tests.helpers import derive_reminders

    assert await derive_reminders(runtime, at("2026-10-11", "18:00")) >= 1
    reminders = {account: locale for account, locale, _ in await notices(runtime, "appointment.reminder")}
    assert reminders == {him.actor.id: "en", her.actor.id: "zh_Hans_CN"}

    clock.set(at("2026-10-12", "09:15"))
    registered = await client.post(f"{CASES}/{case['id']}/registration", headers=office.headers())
    assert registered.status_code == 200, registered.text
    for spouse in (him, her):
        assert (await client.get(f"{CASES}/{case['id']}", headers=spouse.headers)).json()["state"] == "registered"
    assert await close_lapsed_windows(runtime) == 0  # a registered case is not withdrawn by law


async def test_a_deadline_on_a_weekend_or_holiday_moves_and_a_makeup_working_day_counts():
    """Arts. 201 and 203 against the official calendar's own data for 2026."""
    from booking.divorce.services.periods import case_dates

    on_holiday = case_dates(date(2026, 8, 5))  # window: 30 days after 4 Sep end on 4 Oct, National Day
    assert official_day(date(2026, 10, 4)).kind is DayKind.HOLIDAY
    assert moved_past_rest_days(date(2026, 10, 4), on_holiday.window_ends)
    makeup = case_dates(date(2026, 9, 10))  # 30 days on: 10 Oct, a Saturday worked instead (调休)
    assert official_day(date(2026, 10, 10)).kind is DayKind.MAKEUP_WORKDAY
    assert makeup.cooling_off_ends == date(2026, 10, 10)
    plain = case_dates(date(2026, 6, 2))  # 2 July, a Thursday: no move
    assert plain.cooling_off_ends == date(2026, 7, 2)


async def test_withdrawal_within_the_cooling_off_tells_the_other_only_that_it_ended(client, runtime, admin, clock):
    office = await divorce_office(client, runtime, admin)
    him, her = await spouses(runtime)
    case = await received_case(client, clock, office, him, her, received_on="2026-09-03", booked_on="2026-09-01")
    clock.set(at("2026-09-15"))
    withdrawn = await client.post(f"{CASES}/{case['id']}/withdraw", headers=her.headers)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["state"] == "withdrawn"
    his_view = (await client.get(f"{CASES}/{case['id']}", headers=him.headers)).json()
    assert his_view["state"] == "ended" and his_view["ended_by"] is None and his_view["ended_via"] is None
    assert [(a, s) for a, _l, s in await notices(runtime, "divorce.withdrawn")] == [(her.actor.id, "pending")]
    assert [(a, s) for a, _l, s in await notices(runtime, "divorce.ended")] == [(him.actor.id, "pending")]
    # the case's reminders will not go out any more
    assert {s for _a, _l, s in await notices(runtime, "divorce.window_open")} == {"cancelled"}
    clerk_view = (await client.get(f"{CASES}/{case['id']}", headers=office.headers())).json()
    assert (clerk_view["state"], clerk_view["ended_by"], clerk_view["ended_via"]) == ("withdrawn", 2, "online")
    again = await client.post(f"{CASES}/{case['id']}/withdraw", headers=him.headers)
    assert again.status_code == 409 and again.json()["code"] == "case-not-open"


async def test_withdrawal_at_the_counter_until_the_last_day_of_the_cooling_off(client, runtime, admin, clock):
    office = await divorce_office(client, runtime, admin)
    him, her = await spouses(runtime)
    case = await received_case(client, clock, office, him, her, received_on="2026-09-03", booked_on="2026-09-01")
    last_day = date.fromisoformat(case["cooling_off_ends"])
    clock.set(at((last_day + timedelta(days=1)).isoformat(), "09:00"))
    too_late = await client.post(f"{CASES}/{case['id']}/withdraw", headers=office.headers(), json={"party": 1})
    assert too_late.status_code == 409 and too_late.json()["code"] == "cooling-off-over"
    clock.set(at(last_day.isoformat(), "16:00"))
    at_counter = await client.post(f"{CASES}/{case['id']}/withdraw", headers=office.headers(), json={"party": 1})
    assert at_counter.status_code == 200, at_counter.text
    assert (await client.get(f"{CASES}/{case['id']}", headers=her.headers)).json()["state"] == "ended"
    assert (await client.get(f"{CASES}/{case['id']}", headers=him.headers)).json()["state"] == "withdrawn"
    async with runtime.db.raw() as conn:
        audited = await conn.fetch("SELECT action, outcome, detail FROM audit_entry WHERE action = 'divorce.withdraw' "
                                   "ORDER BY id")
    assert [(r["action"], r["outcome"]) for r in audited] == [("divorce.withdraw", "refused:cooling-off-over"),
                                                               ("divorce.withdraw", "ok")]


async def test_no_certificate_by_the_window_end_is_a_withdrawal_by_law(client, runtime, admin, clock):
    office = await divorce_office(client, runtime, admin)
    him, her = await spouses(runtime)
    case = await received_case(client, clock, office, him, her, received_on="2026-09-03", booked_on="2026-09-01")
    window_ends = date.fromisoformat(case["window_ends"])
    # a visit on the window's last day, confirmed by both, to which nobody comes
    clock.set(at((window_ends - timedelta(days=3)).isoformat()))
    last_slot = await slot_on(client, office, window_ends.isoformat(), "14:00")
    assert (await client.post(f"{CASES}/{case['id']}/certificate-visit", headers=her.headers,
                              json={"slot_id": last_slot})).status_code == 201
    assert (await client.post(f"{CASES}/{case['id']}/certificate-visit/confirm",
                              headers=him.headers)).status_code == 200
    clock.set(at(window_ends.isoformat(), "23:30"))
    assert await close_lapsed_windows(runtime) == 0  # the last day is not over yet
    clock.set(at((window_ends + timedelta(days=1)).isoformat(), "00:30"))
    assert await close_lapsed_windows(runtime) == 1
    assert await close_lapsed_windows(runtime) == 0  # idempotent
    for spouse in (him, her):
        view = (await client.get(f"{CASES}/{case['id']}", headers=spouse.headers)).json()
        assert view["state"] == "deemed_withdrawn" and view["next_step"] is None
        assert view["visits"][-1]["status"] == "cancelled"
    assert await booked(runtime, last_slot) == 0
    assert {a for a, _l, _s in await notices(runtime, "divorce.ended")} == {him.actor.id, her.actor.id}


async def test_a_booking_in_anothers_name_does_not_stand_without_their_confirmation(client, runtime, admin, clock):
    office = await divorce_office(client, runtime, admin)
    him, her = await spouses(runtime)
    clock.set(at("2026-09-01"))
    slot = await slot_on(client, office, "2026-09-03")
    case = await apply(client, him, her, slot)
    code = case["visits"][0]["code"]
    # the applicant cannot confirm for her, nor can a stranger who does not know her number
    own = await confirm(client, him, code)
    assert own.status_code == 404  # his own identity is not the one named
    by_him_as_her = await client.post(f"{CASES}/confirm", headers=him.headers, json={"code": code, "party": her.party})
    assert by_him_as_her.status_code == 409 and by_him_as_her.json()["code"] == "confirm-with-own-account"
    stranger = await make_actor(runtime, "couple")
    wrong = dict(her.party, id_number=him.party["id_number"])
    assert (await client.post(f"{CASES}/confirm", headers=stranger.headers,
                              json={"code": code, "party": wrong})).status_code == 404
    # nothing stands: the office cannot receive it, and she does not see it
    clock.set(at("2026-09-03", "09:10"))
    refused = await client.post(f"{CASES}/{case['id']}/receipt", headers=office.headers(),
                                json={"marriage_certificate_checked": True})
    assert refused.status_code == 409 and refused.json()["code"] == "invalid-status"
    assert (await client.get(f"{CASES}/{case['id']}", headers=her.headers)).status_code == 404
    assert (await client.get(CASES, headers=her.headers)).json()["total"] == 0
    # without her confirmation by the hold's end, the seat goes back and the case lapses
    assert await expire_unconfirmed(runtime) == 1
    assert await expire_unconfirmed(runtime) == 0
    assert await booked(runtime, slot) == 0
    assert (await client.get(f"{CASES}/{case['id']}", headers=him.headers)).json()["state"] == "ended"
    # and she was never tied up by it: she can apply with someone else at once
    other, _ = await spouses(runtime)
    clock.set(at("2026-09-03", "11:00"))
    assert (await client.post(CASES, headers=her.headers, json={
        "slot_id": await slot_on(client, office, "2026-09-07"), "applicant": her.party,
        "other": other.named()})).status_code == 201


async def test_an_account_speaks_for_one_person(client, runtime, admin, clock):
    """实名: an account is bound to the person it first applies or confirms as, and cannot
    confirm or apply as anyone else."""
    office = await divorce_office(client, runtime, admin)
    him, her = await spouses(runtime)
    third, fourth = await spouses(runtime)
    clock.set(at("2026-09-01"))
    await apply(client, him, her, await slot_on(client, office, "2026-09-03"))
    second = await apply(client, third, fourth, await slot_on(client, office, "2026-09-04"))
    # his account poses as the woman named in another booking
    posing = await client.post(f"{CASES}/confirm", headers=him.headers,
                               json={"code": second["visits"][0]["code"], "party": fourth.party})
    assert posing.status_code == 409 and posing.json()["code"] == "confirm-with-own-account"
    # her account, bound to her when she confirms, cannot apply as anyone else
    first = (await client.get(CASES, headers=him.headers)).json()["data"][0]
    assert (await confirm(client, her, first["visits"][0]["code"])).status_code == 200
    as_other = await client.post(CASES, headers=her.headers, json={
        "slot_id": await slot_on(client, office, "2026-09-07"), "applicant": fourth.party, "other": third.named()})
    assert as_other.status_code == 409 and as_other.json()["code"] == "not-the-account-holder"


async def test_receipt_needs_the_certificate_checked_when_the_office_has_no_record(client, runtime, admin, clock):
    office = await divorce_office(client, runtime, admin)
    him, her = await spouses(runtime)
    clock.set(at("2026-09-01"))
    case = await apply(client, him, her, await slot_on(client, office, "2026-09-03"))
    assert case["marriage_record"] is None
    await confirm(client, her, case["visits"][0]["code"])
    clock.set(at("2026-09-02"))
    not_today = await client.post(f"{CASES}/{case['id']}/receipt", headers=office.headers(),
                                  json={"marriage_certificate_checked": True})
    assert not_today.status_code == 409 and not_today.json()["code"] == "not-the-visit-day"
    clock.set(at("2026-09-03", "09:10"))
    unchecked = await client.post(f"{CASES}/{case['id']}/receipt", headers=office.headers())
    assert unchecked.status_code == 409 and unchecked.json()["code"] == "certificate-unchecked"
    assert (await client.post(f"{CASES}/{case['id']}/receipt", headers=office.headers(),
                              json={"marriage_certificate_checked": True})).status_code == 200


async def test_a_marriage_registered_here_is_on_record_and_a_divorce_registered_ends_it(client, runtime, admin,
                                                                                         clock):
    office = await divorce_office(client, runtime, admin)
    him, her = await spouses(runtime)
    clock.set(at("2026-08-03"))
    marriage = await client.post("/api/v1/appointments", headers=him.headers, json={
        "slot_id": await slot_on(client, office, "2026-08-05", service="marriage_registration"),
        "service": "marriage_registration",
        "parties": [him.party, her.party]})
    assert marriage.status_code == 201, marriage.text
    clock.set(at("2026-08-05", "09:10"))
    for step in ("check-in", "complete"):
        assert (await client.post(f"/api/v1/appointments/{marriage.json()['id']}/{step}",
                                  headers=office.headers())).status_code == 200
    case = await received_case(client, clock, office, him, her, received_on="2026-09-03", booked_on="2026-09-01")
    assert case["marriage_record"] == "registration"
    clock.set(at(case["window_opens"]))
    day = (date.fromisoformat(case["window_opens"]) + timedelta(days=4)).isoformat()
    while official_day(date.fromisoformat(day)).kind is not DayKind.WORKDAY:
        day = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    await client.post(f"{CASES}/{case['id']}/certificate-visit", headers=her.headers,
                      json={"slot_id": await slot_on(client, office, day)})
    await client.post(f"{CASES}/{case['id']}/certificate-visit/confirm", headers=him.headers)
    clock.set(at(day, "09:10"))
    assert (await client.post(f"{CASES}/{case['id']}/registration", headers=office.headers())).status_code == 200
    # divorced now, as far as the office can tell
    clock.set(at(day, "11:00"))
    again = await client.post(CASES, headers=him.headers, json={
        "slot_id": await slot_on(client, office, (date.fromisoformat(day) + timedelta(days=7)).isoformat()),
        "applicant": him.party, "other": her.named()})
    assert again.status_code == 409 and again.json()["code"] == "not-married-to-each-other"


async def test_a_divorce_is_not_booked_as_a_single_appointment(client, runtime, admin, clock):
    office = await divorce_office(client, runtime, admin)
    him, her = await spouses(runtime)
    clock.set(at("2026-09-01"))
    response = await client.post("/api/v1/appointments", headers=him.headers, json={
        "slot_id": await slot_on(client, office, "2026-09-03"), "service": DIVORCE, "parties": [him.party, her.party]})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "service"


async def test_clerks_see_only_their_offices_cases_and_every_reveal_is_audited(client, runtime, admin, clock):
    office = await divorce_office(client, runtime, admin)
    elsewhere = await divorce_office(client, runtime, admin, dates=("2026-09-01", "2026-09-02"), code="SZ-DIV")
    him, her = await spouses(runtime)
    case = await received_case(client, clock, office, him, her, received_on="2026-09-03", booked_on="2026-09-01")
    for path in ("", "/reveal", "/withdraw", "/registration"):
        method = client.get if path == "" else client.post
        response = await method(f"{CASES}/{case['id']}{path}", headers=elsewhere.headers())
        assert response.status_code == 404, path
    listed = await client.get(f"/api/v1/offices/{office.id}/divorce-cases", headers=elsewhere.headers())
    assert listed.status_code == 404
    mine = await client.get(f"/api/v1/offices/{office.id}/divorce-cases", headers=office.headers())
    assert mine.json()["total"] == 1 and mine.json()["data"][0]["parties"][1]["phone"] != her.party["phone"]
    revealed = await client.post(f"{CASES}/{case['id']}/reveal", headers=office.headers())
    assert [p["phone"] for p in revealed.json()["parties"]] == [him.party["phone"], her.party["phone"]]
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM audit_entry WHERE action = 'divorce.reveal' "
                                   "AND actor_id = $1", office.clerk.id) == 1


async def test_both_spouses_booking_the_certificate_visit_at_once_get_one_visit(client, runtime, admin, clock):
    """Real concurrent requests: the case's lock lets one visit stand; the other request
    gives its seat back with everything else it wrote."""
    import asyncio

    office = await divorce_office(client, runtime, admin)
    him, her = await spouses(runtime)
    case = await received_case(client, clock, office, him, her, received_on="2026-09-03", booked_on="2026-09-01")
    clock.set(at(case["window_opens"]))
    first, second = await slot_on(client, office, "2026-10-12"), await slot_on(client, office, "2026-10-13")
    answers = await asyncio.gather(*(
        client.post(f"{CASES}/{case['id']}/certificate-visit", headers=who.headers, json={"slot_id": slot})
        for who, slot in ((him, first), (her, second))))
    assert sorted(a.status_code for a in answers) == [201, 409]
    assert next(a for a in answers if a.status_code == 409).json()["code"] == "visit-already-booked"
    assert sorted([await booked(runtime, first), await booked(runtime, second)]) == [0, 1]


async def test_a_case_on_the_embedded_default_sqlite(sqlite_client, sqlite_runtime, clock):
    admin = await make_actor(sqlite_runtime, "admin")
    office = await divorce_office(sqlite_client, sqlite_runtime, admin, dates=("2026-09-01", "2026-09-30"))
    him, her = await spouses(sqlite_runtime)
    case = await received_case(sqlite_client, clock, office, him, her, received_on="2026-09-03",
                               booked_on="2026-09-01")
    assert case["state"] == "cooling_off" and case["cooling_off_ends"] == "2026-10-08"
    clock.set(at("2026-09-04"))
    withdrawn = await sqlite_client.post(f"{CASES}/{case['id']}/withdraw", headers=her.headers)
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
