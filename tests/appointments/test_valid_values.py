"""One person is one key, the hukou is asked, and what reaches the database is valid for every
later reader (issue 9, defects 8 to 11), through the HTTP API on PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
import vobject

from booking.runtime import Runtime
from tests.factories import Office, couple_parties, make_actor, open_office, phone, resident_id

pytestmark = pytest.mark.asyncio
BOOK = "/api/v1/appointments"


async def first_slot(client: httpx.AsyncClient, office: Office, day: str) -> int:
    response = await client.get(f"/api/v1/offices/{office.id}/slots?from={day}&to={day}",
                                headers=office.clerk.headers)
    return response.json()["data"][0]["id"]


async def attempt(client: httpx.AsyncClient, runtime: Runtime, slot_id: int,
                  parties: list[dict[str, Any]]) -> httpx.Response:
    couple = await make_actor(runtime, "couple")
    request = {"slot_id": slot_id, "service": "marriage_registration", "parties": parties}
    return await client.post(BOOK, json=request, headers={**couple.headers, "Accept-Language": "en"})


def permit_holder(number: str, sex: str = "M") -> dict[str, Any]:
    return {"name": "陈大文", "id_type": "hk_macao_permit", "id_number": number, "phone": phone(), "sex": sex,
            "birth_date": "1994-02-03"}


# --- 8. one person, one key --------------------------------------------------------------------


async def test_a_resident_id_number_is_taken_only_as_a_resident_id(client, runtime, admin):
    office = await open_office(client, runtime, admin)
    groom, bride = couple_parties()
    assert (await attempt(client, runtime, await first_slot(client, office, "2026-09-15"),
                          [groom, bride])).status_code == 201
    # the same groom again, his number sent as a "passport" with a birth date of his choosing
    as_passport = {**groom, "id_type": "passport", "sex": "M", "birth_date": "1980-01-01"}
    again = await attempt(client, runtime, await first_slot(client, office, "2026-09-16"),
                          [as_passport, couple_parties()[1]])
    assert again.status_code == 422, again.text
    assert again.json()["errors"][0]["field"] == "parties.0.id_number"
    # a minor cannot pass the age rule that way either
    minor = resident_id(date(2010, 5, 5), "M")
    underage = await attempt(client, runtime, await first_slot(client, office, "2026-09-17"), [
        {**groom, "id_type": "passport", "id_number": minor, "sex": "M", "birth_date": "1990-01-01"},
        couple_parties()[1]])
    assert underage.status_code == 422


async def test_a_permit_number_with_or_without_its_issue_count_is_one_person(client, runtime, admin):
    office = await open_office(client, runtime, admin)
    bride = couple_parties()[1]
    first = await attempt(client, runtime, await first_slot(client, office, "2026-09-15"),
                          [permit_holder("H12345678"), bride])
    assert first.status_code == 201, first.text
    again = await attempt(client, runtime, await first_slot(client, office, "2026-09-16"),
                          [permit_holder("H1234567801"), couple_parties()[1]])
    assert again.status_code == 409 and again.json()["code"] == "party-already-booked"
    assert again.json()["party"] == 1
    # and one person is never both parties
    both = await attempt(client, runtime, await first_slot(client, office, "2026-09-17"),
                         [permit_holder("M87654321"), permit_holder("m8765432102", sex="F")])
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "parties.1.id_number"


# --- 9. the hukou province is asked, not guessed -------------------------------------------------


async def test_without_a_hukou_answer_a_couple_counts_as_non_local(client, runtime, admin):
    """Guangdong-issued ID numbers say where the parties were first registered, not where
    their hukou is now: without an answer they are not taken as local."""
    office = await open_office(client, runtime, admin)  # in Guangdong (44), pre-reviews non-local couples
    unanswered = couple_parties(region="440106", hukou=None)
    booked = await attempt(client, runtime, await first_slot(client, office, "2026-09-15"), unanswered)
    assert booked.status_code == 201, booked.text
    assert booked.json()["status"] == "pending_review" and booked.json()["review_reason"] == "nonlocal"
    answered = await attempt(client, runtime, await first_slot(client, office, "2026-09-16"),
                             couple_parties(region="510104", hukou="44"))
    assert answered.json()["status"] == "confirmed"


# --- 10. values every later reader can read --------------------------------------------------


async def test_times_with_an_offset_are_refused_and_reads_keep_working(client, runtime, admin):
    office = await open_office(client, runtime, admin)
    english = {**admin.headers, "Accept-Language": "en"}
    rules = await client.patch(f"/api/v1/offices/{office.id}", headers=english,
                               json={"rules": {"release_time": "08:30:00+08:00"}})
    assert rules.status_code == 422, rules.text
    assert rules.json()["errors"][0]["field"] == "rules.release_time"
    schedule = await client.put(f"/api/v1/offices/{office.id}/schedule", headers=office.clerk.headers, json={
        "windows": [{"weekday": 1, "start": "09:00:00+08:00", "end": "10:00", "capacities": {
            "marriage_registration": 5}}]})
    assert schedule.status_code == 422 and schedule.json()["errors"][0]["field"] == "windows.0.start"
    opening = await client.post(f"/api/v1/offices/{office.id}/special-openings", headers=office.clerk.headers,
                                json={"date": "2026-09-19", "windows": [{"start": "09:00", "end": "10:00Z",
                                      "capacities": {"marriage_registration": 5}}]})
    assert opening.status_code == 422
    available = await client.get(f"/api/v1/offices/{office.id}/availability?service=marriage_registration")
    assert available.status_code == 200 and available.json()["data"]
    assert len((await client.get(f"/api/v1/offices/{office.id}/schedule",
                                 headers=office.clerk.headers)).json()["windows"]) == 10  # unchanged


@pytest.mark.parametrize("name", ["张伟\r\nBcc: all@example.com", "张\n伟", "Zhang\x00Wei", "张伟\u2028李"])
async def test_names_are_one_line(client, runtime, admin, name):
    registered = await client.post("/api/v1/auth/register", json={
        "email": "new@example.com", "password": "password-123", "name": name})
    assert registered.status_code == 422, registered.text
    assert registered.json()["errors"][0]["field"] == "name"
    staff = await client.post("/api/v1/users", headers=admin.headers, json={
        "email": "clerk@example.com", "password": "password-123", "name": name, "role": "admin"})
    assert staff.status_code == 422


async def test_an_office_with_slots_to_come_keeps_its_timezone_and_province(client, runtime, admin, clock):
    office = await open_office(client, runtime, admin)  # slots until 2026-10-31
    for change in ({"timezone": "Asia/Urumqi"}, {"province_code": "51", "division_code": None}):
        refused = await client.patch(f"/api/v1/offices/{office.id}", json=change,
                                     headers={**admin.headers, "Accept-Language": "en"})
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "office-has-future-slots"
        assert refused.headers["content-type"].startswith("application/problem+json")
    shown = (await client.get(f"/api/v1/offices/{office.id}")).json()
    assert (shown["timezone"], shown["province_code"]) == ("Asia/Shanghai", "44")
    # the same value, or anything else, is fine
    same = await client.patch(f"/api/v1/offices/{office.id}", headers=admin.headers,
                              json={"timezone": "Asia/Shanghai", "city": "广州市"})
    assert same.status_code == 200
    slots = (await client.get(f"/api/v1/offices/{office.id}/slots?from=2026-10-30&to=2026-10-30",
                              headers=office.clerk.headers)).json()["data"]
    assert [s["date"] for s in slots] == ["2026-10-30", "2026-10-30"]


# --- 11. a clerk's copy of a CANCEL names an attendee --------------------------------------------


async def test_a_clerk_s_copy_of_a_cancel_is_valid_itip(client, runtime, admin):
    office = await open_office(client, runtime, admin, email="tianhe@registry.example")
    request = {"slot_id": await first_slot(client, office, "2026-09-15"), "service": "marriage_registration",
               "parties": couple_parties()}
    walk_in = await client.post(f"/api/v1/offices/{office.id}/appointments", json=request,
                                headers=office.clerk.headers)
    appointment_id = walk_in.json()["id"]
    await client.post(f"{BOOK}/{appointment_id}/cancel", headers=office.clerk.headers)
    copy = await client.get(f"{BOOK}/{appointment_id}/invite.ics", headers=office.clerk.headers)
    calendar = vobject.readOne(copy.text)
    assert calendar.method.value == "CANCEL"
    attendees = calendar.vevent.contents.get("attendee", [])
    assert [a.value for a in attendees] == ["mailto:tianhe@registry.example"]  # RFC 5546 3.2.5: 1+ ATTENDEE
    assert calendar.vevent.organizer.value == "mailto:tianhe@registry.example"
