"""The schedule, slots and admin pages over HTTP (no browser): each page shows and changes
only the clerk's own office (another office's id answers 404, as the API), a clerk never
reaches /admin, the forms call the API's services. The flows in a real browser are in
tests/browser/test_desk_schedule.py, test_desk_slots.py and test_admin.py."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.factories import Actor, make_actor, open_office
from tests.appointments.test_appointments import body, slot_on
from tests.web.test_pages import csrf


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


ADMIN_PAGES = ("/admin", "/admin/staff", "/admin/policy", "/admin/notifications", "/admin/audit")


async def test_a_clerk_cannot_reach_the_admin_pages(client, runtime, two_offices, admin):
    mine, other = two_offices
    signed_in(client, mine.clerk)
    token = csrf((await client.get("/desk/schedule")).text)
    for path in (*ADMIN_PAGES, f"/admin/offices/{mine.id}", f"/admin/offices/{other.id}"):
        response = await client.get(path)
        assert response.status_code == 403 and "text/html" in response.headers["content-type"], path
    for path, data in (("/admin/offices", {"code": "X-9"}), (f"/admin/offices/{mine.id}", {"name_zh": "改名"}),
                       ("/admin/staff", {"email": "x@example.com"}),
                       (f"/admin/staff/{mine.clerk.id}/deactivate", {}),
                       (f"/admin/staff/{mine.clerk.id}/office", {"office_id": str(other.id)}),
                       ("/admin/policy/1", {}), ("/admin/notifications/00000000-0000-0000-0000-000000000001/retry",
                                                 {})):
        assert (await client.post(path, data={"_csrf_token": token, **data})).status_code == 403, path
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT office_id FROM user_account WHERE id = $1", mine.clerk.id) == mine.id
    # the admin menu entry is not shown to clerks
    assert 'href="/admin"' not in (await client.get("/desk/schedule")).text
    signed_in(client, admin)
    for path in ADMIN_PAGES:
        assert (await client.get(path)).status_code == 200, path


async def test_an_admin_deactivates_a_clerk_whose_pages_stop_working(client, runtime, two_offices, admin):
    mine, _other = two_offices
    clerk_cookie = mine.clerk.token
    signed_in(client, admin)
    staff = await client.get("/admin/staff")
    assert mine.clerk.email in staff.text
    done = await client.post(f"/admin/staff/{mine.clerk.id}/deactivate", data={"_csrf_token": csrf(staff.text)})
    assert done.status_code == 303
    client.cookies.set("booking_session", clerk_cookie)
    assert (await client.get("/desk/schedule")).headers["location"].startswith("/login")
    audit = (await client.get("/api/v1/audit?action=account.deactivate", headers=admin.headers)).json()
    assert audit["data"][0]["target_id"] == str(mine.clerk.id)


async def test_admin_forms_create_an_account_move_a_clerk_and_edit_the_booking_rules(client, runtime, two_offices,
                                                                                      admin):
    mine, other = two_offices
    signed_in(client, admin)
    staff = await client.get("/admin/staff")
    token = csrf(staff.text)
    short = await client.post("/admin/staff", data={"_csrf_token": token, "name": "新员工",
                                                    "email": "new.clerk@example.com", "password": "short",
                                                    "role": "clerk", "office_id": str(mine.id)})
    assert short.status_code == 422 and 'id="f-password-error"' in short.text and "short" not in short.text
    created = await client.post("/admin/staff", data={"_csrf_token": token, "name": "新员工",
                                                      "email": "new.clerk@example.com", "password": "password-123",
                                                      "role": "clerk", "office_id": str(mine.id)})
    assert created.status_code == 303
    listed = (await client.get("/api/v1/users", headers=admin.headers)).json()["data"]
    new = next(a for a in listed if a["email"] == "new.clerk@example.com")
    assert new["office_id"] == mine.id
    moved = await client.post(f"/admin/staff/{new['id']}/office", data={"_csrf_token": token,
                                                                        "office_id": str(other.id)})
    assert moved.status_code == 303
    assert (await client.get(f"/api/v1/users?office_id={other.id}", headers=admin.headers)).json()["data"][-1][
        "email"] in {"new.clerk@example.com", other.clerk.email}

    page = await client.get(f"/admin/offices/{mine.id}")
    assert page.status_code == 200 and 'name="rules.booking_window_days" type="number" value="15"' in page.text
    form = dict(re.findall(r'<input id="[^"]+" name="([^"]+)" type="(?:text|number|time|tel|email)" value="([^"]*)"',
                           page.text))
    form.update({"_csrf_token": csrf(page.text), "services": "marriage_registration", "is_active": "on",
                 "rules.booking_window_days": "20", "rules.release_time": "09:00"})
    saved = await client.post(f"/admin/offices/{mine.id}", data=form)
    assert saved.status_code == 303, saved.text
    office = (await client.get(f"/api/v1/offices/{mine.id}")).json()
    assert office["rules"]["booking_window_days"] == 20 and office["rules"]["release_time"] == "09:00:00"
    assert office["rules"]["prereview_nonlocal"] is False  # unticked box: sent as false
    wrong = await client.post(f"/admin/offices/{mine.id}", data={**form, "rules.booking_window_days": "400"})
    assert wrong.status_code == 422 and 'id="f-rules-booking_window_days-error"' in wrong.text


async def test_admin_retries_a_failed_notification_and_searches_the_audit_log(client, runtime, two_offices, admin):
    from tests.ops.test_staff_operations import _failed_notification

    mine, _other = two_offices
    row_id = await _failed_notification(runtime)
    signed_in(client, admin)
    page = await client.get("/admin/notifications", headers={"Accept-Language": "en"})
    assert "550 mailbox unavailable" in page.text and f"/admin/notifications/{row_id}/retry" in page.text
    retried = await client.post(f"/admin/notifications/{row_id}/retry", data={"_csrf_token": csrf(page.text)})
    assert retried.status_code == 303
    again = await client.post(f"/admin/notifications/{row_id}/retry", data={"_csrf_token": csrf(page.text)})
    assert again.status_code == 409
    found = await client.get("/admin/audit", params={"who": mine.clerk.email, "what": "slots",
                                                     "from": "2026-09-01", "to": "2026-12-31"})
    assert found.status_code == 200 and "slots.generate" in found.text and "找到 1 条记录" in found.text
    nobody = await client.get("/admin/audit", params={"who": "nobody@example.com"})
    assert "找到 0 条记录" in nobody.text
    bad = await client.get("/admin/audit", params={"from": "2026-13-01"})
    assert bad.status_code == 400 and 'id="f-from-error"' in bad.text


async def test_admin_edits_a_policy_period(client, runtime, admin):
    signed_in(client, admin)
    page = await client.get("/admin/policy")
    assert page.status_code == 200
    periods = (await client.get("/api/v1/jurisdiction/periods")).json()["data"]
    last = periods[-1]
    form = {"_csrf_token": csrf(page.text), "title_zh": last["title_zh"], "title_en": last["title_en"],
            "legal_basis": last["legal_basis"], "effective_from": last["effective_from"], "rule": last["rule"],
            "note": "页面编辑", "areas.marriage_registration": "44 45，4201"}
    if last["prereview"]:
        form["prereview"] = "on"
    saved = await client.post(f"/admin/policy/{last['id']}", data=form)
    assert saved.status_code == 303, saved.text
    after = next(p for p in (await client.get("/api/v1/jurisdiction/periods")).json()["data"] if p["id"] == last["id"])
    assert after["note"] == "页面编辑" and after["areas"] == {"marriage_registration": ["4201", "44", "45"]}
    wrong = await client.post(f"/admin/policy/{last['id']}", data={**form, "effective_to": "2000-01-01"})
    assert wrong.status_code == 422


async def test_closing_a_booked_slot_shows_what_it_cancels_first(client, runtime, two_offices):
    mine, other = two_offices
    couple = await make_actor(runtime, "couple")
    slot = await slot_on(client, mine, "2026-09-16")
    booked = (await client.post("/api/v1/appointments", json=body(slot), headers=couple.headers)).json()
    signed_in(client, mine.clerk)
    page = await client.get("/desk/slots?from=2026-09-16&to=2026-09-16")
    assert f'href="/desk/slots/{slot}/close?from=2026-09-16&amp;to=2026-09-16"' in page.text
    preview = await client.get(f"/desk/slots/{slot}/close?from=2026-09-16&to=2026-09-16")
    assert preview.status_code == 200 and "关闭后将取消的预约：1" in preview.text
    assert booked["code"][:4] in preview.text.replace("-", "")
    theirs = await slot_on(client, other, "2026-09-16")
    assert (await client.get(f"/desk/slots/{theirs}/close")).status_code == 404
    closed = await client.post(f"/desk/slots/{slot}/close", data={"_csrf_token": csrf(preview.text),
                                                                  "note": "窗口维修", "from": "2026-09-16",
                                                                  "to": "2026-09-16"})
    assert closed.status_code == 303
    after = (await client.get(f"/api/v1/appointments/{booked['id']}", headers=couple.headers)).json()
    assert after["status"] == "cancelled"


async def test_the_pages_on_the_embedded_default(sqlite_client, sqlite_runtime):
    admin = await make_actor(sqlite_runtime, "admin")
    office = await open_office(sqlite_client, sqlite_runtime, admin)
    signed_in(sqlite_client, office.clerk)
    assert (await sqlite_client.get("/desk/schedule?month=2026-10")).status_code == 200
    preview = await sqlite_client.get("/desk/schedule/closures/preview?date=2026-09-16")
    assert preview.status_code == 200 and "将取消的预约：0" in preview.text
    assert (await sqlite_client.get("/desk/slots?from=2026-09-28&to=2026-10-10")).status_code == 200
    signed_in(sqlite_client, admin)
    audit = await sqlite_client.get("/admin/audit", params={"what": "slots", "from": "2026-01-01"})
    assert audit.status_code == 200 and "slots.generate" in audit.text
    for path in ("/admin", f"/admin/offices/{office.id}", "/admin/staff", "/admin/policy", "/admin/notifications"):
        assert (await sqlite_client.get(path)).status_code == 200, path
