"""The schedule, slots and admin pages over HTTP (no browser): each page shows and changes
only the clerk's own office (another office's id answers 404, as the API), a clerk never
reaches /admin, the forms call the API's services. The flows in a real browser are in
tests/browser/test_desk_schedule.py, test_desk_slots.py and test_admin.py."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import Actor, make_actor, open_office
from tests.test_appointments import body, slot_on
from tests.test_pages import csrf


def signed_in(client: httpx.AsyncClient, actor: Actor) -> httpx.AsyncClient:
    """The page session: the API's token in the page cookie, as /login sets it."""
    client.cookies.set("booking_session", actor.token)
    return client


@pytest.fixture
async def two_offices(client, runtime, admin):
    mine = await open_office(client, runtime, admin)
    other = await open_office(client, runtime, admin, code="GZ-OTHER", name_zh="广州市另一区婚姻登记处")
    return mine, other


async def test_the_schedule_page_shows_the_month_with_holidays_and_makeup_days(client, runtime, two_offices):
    mine, _other = two_offices
    signed_in(client, mine.clerk)
    page = await client.get("/desk/schedule?month=2026-10")
    assert page.status_code == 200, page.text
    assert "国庆节" in page.text and "调休" in page.text
    assert 'data-date="2026-10-10"' in page.text  # Saturday 10 October 2026 is a make-up working day
    cell = re.search(r'<td class="day kind-makeup_workday[^"]*" data-date="2026-10-10">', page.text)
    assert cell, "10 October 2026 is shown as a make-up working day"
    english = await client.get("/desk/schedule?month=2026-10", headers={"Accept-Language": "en"})
    assert "National Day" in english.text and "Make-up working day" in english.text


async def test_a_closure_is_previewed_then_saved_by_the_same_service(client, runtime, two_offices):
    mine, _other = two_offices
    couple = await make_actor(runtime, "couple")
    booked = (await client.post("/api/v1/appointments", json=body(await slot_on(client, mine, "2026-09-16")),
                                headers=couple.headers)).json()
    signed_in(client, mine.clerk)
    preview = await client.get("/desk/schedule/closures/preview?date=2026-09-16&note=停电")
    assert preview.status_code == 200
    assert booked["code"][:4] in preview.text.replace("-", "").replace(" ", "")
    assert "将取消的预约：1" in preview.text
    saved = await client.post("/desk/schedule/closures", data={"_csrf_token": csrf(preview.text),
                                                               "date": "2026-09-16", "note": "停电"})
    assert saved.status_code == 303
    after = (await client.get(f"/api/v1/appointments/{booked['id']}", headers=couple.headers)).json()
    assert after["status"] == "cancelled"


async def test_a_clerk_never_sees_or_changes_another_offices_schedule(client, runtime, two_offices):
    mine, other = two_offices
    signed_in(client, mine.clerk)
    page = await client.get("/desk/schedule")
    assert page.status_code == 200 and "广州市另一区" not in page.text
    token = csrf(page.text)
    assert (await client.get(f"/desk/schedule?office={other.id}")).status_code == 404
    assert (await client.get(f"/desk/schedule/closures/preview?date=2026-09-16&office={other.id}")).status_code == 404
    for path, data in ((f"/desk/schedule/closures?office={other.id}", {"date": "2026-09-16"}),
                       (f"/desk/schedule/openings?office={other.id}", {"date": "2026-09-19"}),
                       (f"/desk/schedule/weekly?office={other.id}", {"windows.0.weekday": "1"}),
                       (f"/desk/schedule/closures/2026-09-16/remove?office={other.id}", {})):
        refused = await client.post(path, data={"_csrf_token": token, **data})
        assert refused.status_code == 404, path
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM office_day WHERE office_id = $1", other.id) == 0
        assert await conn.fetchval("SELECT count(*) FROM schedule_window WHERE office_id = $1", other.id) == 10


async def test_the_weekly_schedule_form_replaces_the_week_and_shows_errors_beside_their_row(client, runtime,
                                                                                            two_offices):
    mine, _other = two_offices
    signed_in(client, mine.clerk)
    page = await client.get("/desk/schedule")
    form = {"_csrf_token": csrf(page.text),
            "windows.0.weekday": "1", "windows.0.start": "09:00", "windows.0.end": "12:00",
            "windows.0.capacities.marriage_registration": "8",
            "windows.1.weekday": "1", "windows.1.start": "", "windows.1.end": "",  # a cleared row
            "windows.2.weekday": "2", "windows.2.start": "15:00", "windows.2.end": "14:00",
            "windows.2.capacities.marriage_registration": "4"}
    wrong = await client.post("/desk/schedule/weekly", data=form)
    assert wrong.status_code == 422
    assert '<p class="error" id="f-windows-2-error">时段的结束时间必须晚于开始时间。</p>' in wrong.text
    form.update({"windows.2.start": "13:00"})
    saved = await client.post("/desk/schedule/weekly", data=form)
    assert saved.status_code == 303
    schedule = (await client.get(f"/api/v1/offices/{mine.id}/schedule", headers=mine.clerk.headers)).json()
    assert [(w["weekday"], w["start"], w["capacities"]) for w in schedule["windows"]] == [
        (1, "09:00:00", {"marriage_registration": 8}), (2, "13:00:00", {"marriage_registration": 4})]


async def test_the_slots_page_previews_generates_and_closes_single_slots(client, runtime, two_offices):
    mine, _other = two_offices
    signed_in(client, mine.clerk)
    page = await client.get("/desk/slots?from=2026-09-30&to=2026-10-09")
    assert page.status_code == 200, page.text
    assert '<tr class="plan-holiday" data-date="2026-10-01">' in page.text
    assert '<tr class="plan-makeup_workday" data-date="2026-10-10">' not in page.text  # outside the range
    assert '<tr class="plan-open" data-date="2026-09-30">' in page.text
    generated = await client.post("/desk/slots/generate", data={"_csrf_token": csrf(page.text),
                                                                "from": "2026-11-02", "to": "2026-11-03"})
    assert generated.status_code == 303 and "created=4" in generated.headers["location"]
    shown = await client.get(generated.headers["location"])
    assert "新建 4 个时段" in shown.text
    slot = await slot_on(client, mine, "2026-11-02")
    closed = await client.post(f"/desk/slots/{slot}/close", data={"_csrf_token": csrf(shown.text),
                                                                  "from": "2026-11-02", "to": "2026-11-03"})
    assert closed.status_code == 303 and closed.headers["location"] == "/desk/slots?from=2026-11-02&to=2026-11-03"
    listed = (await client.get(f"/api/v1/offices/{mine.id}/slots?from=2026-11-02&to=2026-11-02",
                               headers=mine.clerk.headers)).json()["data"]
    assert [s["status"] for s in listed if s["id"] == slot] == ["closed"]
    assert (await client.post(f"/desk/slots/{slot}/reopen", data={"_csrf_token": csrf(shown.text)})).status_code == 303


async def test_a_clerk_never_sees_or_changes_another_offices_slots(client, runtime, two_offices):
    mine, other = two_offices
    signed_in(client, mine.clerk)
    page = await client.get("/desk/slots")
    token = csrf(page.text)
    assert (await client.get(f"/desk/slots?office={other.id}")).status_code == 404
    theirs = await slot_on(client, other, "2026-09-16")
    assert f"/desk/slots/{theirs}/close" not in page.text
    assert (await client.post(f"/desk/slots/{theirs}/close", data={"_csrf_token": token})).status_code == 404
    assert (await client.post(f"/desk/slots/generate?office={other.id}", data={
        "_csrf_token": token, "from": "2026-11-02", "to": "2026-11-03"})).status_code == 404
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT status FROM slot WHERE id = $1", theirs) == "open"
        assert await conn.fetchval("SELECT count(*) FROM slot WHERE office_id = $1 AND local_date >= '2026-11-01'",
                                   other.id) == 0
