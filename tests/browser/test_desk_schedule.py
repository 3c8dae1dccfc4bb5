"""The office's schedule and slots in a real Chromium: a closure is previewed, then saved,
and the couples on it are cancelled; a special opening is added on a public holiday and its
slots generated after the preview of open and closed days; a slot closed and reopened.

These tests work on the Chengdu demo office (CD-JINJIANG) and dates no other browser test
books, so closing a day takes nobody else's appointment."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Api, check
from tests.browser.desk_fixtures import staff_tab
from tests.factories import couple_parties

CLERK_CD = "clerk.cd-jinjiang@demo.invalid"
CLOSED_DAY = "2026-09-24"  # a Thursday inside the demo's generated slots
HOLIDAY = "2026-10-05"  # Monday of the National Day holiday (1-7 October 2026)


@pytest.fixture
def cd_clerk(browser: Browser, server: str) -> Iterator[Page]:
    yield from staff_tab(browser, server, CLERK_CD, next_path="/desk/schedule")


@pytest.fixture
def english_cd_clerk(browser: Browser, server: str) -> Iterator[Page]:
    yield from staff_tab(browser, server, CLERK_CD, "en-US", next_path="/desk/schedule")


def book_on(api: Api, office_id: int, day: str) -> dict:
    couple = api.couple(f"c-{uuid.uuid4().hex[:10]}@example.com")
    slots = api.request("GET", f"/api/v1/offices/{office_id}/availability",
                        params={"service": "marriage_registration", "from": day, "to": day}).json()["data"]
    assert slots, f"no free slot on {day}"
    booked = api.request("POST", "/api/v1/appointments", headers=couple, json={
        "slot_id": slots[0]["slot_id"], "service": "marriage_registration",
        "parties": couple_parties(region="510104", hukou="51")})
    assert booked.status_code == 201, booked.text
    return {**booked.json(), "headers": couple}


def test_a_closure_is_previewed_saved_and_its_couples_cancelled(cd_clerk: Page, api: Api):
    office_id = api.office_id("CD-JINJIANG")
    couples = [book_on(api, office_id, CLOSED_DAY) for _ in range(2)]
    page = cd_clerk
    page.goto("/desk/schedule?month=2026-09")
    expect(page.locator("h1")).to_have_text("排班、停办与特别开放日")
    check(page, "desk-schedule")

    page.fill("#f-date", CLOSED_DAY)
    page.fill("#f-note", "设备检修")
    page.get_by_role("button", name="预览停办影响").click()
    expect(page.locator("h1")).to_contain_text("停办")
    preview = page.locator("#to-cancel tbody tr")
    expect(preview).to_have_count(2)
    for booked in couples:
        code = booked["code"]
        expect(page.locator("#to-cancel")).to_contain_text(code[:4])
    expect(page.get_by_role("heading", name="保存后将取消的预约：2")).to_be_visible()
    check(page, "desk-closure-preview")
    # nothing is cancelled by looking
    for booked in couples:
        assert api.request("GET", f"/api/v1/appointments/{booked['id']}",
                           headers=booked["headers"]).json()["status"] == "confirmed"

    page.get_by_role("button", name="停办并取消这些预约").click()
    expect(page.get_by_role("status")).to_contain_text("该日已停办")
    cell = page.locator(f'td[data-date="{CLOSED_DAY}"]')
    expect(cell).to_contain_text("停办：设备检修")
    expect(page.get_by_role("table", name="即将到来的停办日")).to_contain_text("设备检修")
    for booked in couples:
        after = api.request("GET", f"/api/v1/appointments/{booked['id']}", headers=booked["headers"]).json()
        assert after["status"] == "cancelled"


def test_a_special_opening_on_a_holiday_then_its_slots(english_cd_clerk: Page, api: Api):
    page = english_cd_clerk
    page.goto("/desk/schedule?month=2026-10")
    holiday = page.locator(f'td[data-date="{HOLIDAY}"]')
    expect(holiday).to_contain_text("National Day")
    expect(page.locator('td[data-date="2026-10-10"]')).to_contain_text("Make-up working day")
    check(page, "desk-schedule-october")

    opening = page.locator('form[action$="/desk/schedule/openings"]')
    opening.locator('[name="date"]').fill(HOLIDAY)
    opening.locator('[name="note"]').fill("National Day wedding morning")
    opening.locator('[name="windows.0.start"]').fill("09:00")
    opening.locator('[name="windows.0.end"]').fill("12:00")
    opening.locator('[name="windows.0.capacities.marriage_registration"]').fill("12")
    opening.get_by_role("button", name="Add the special opening").click()
    expect(page.get_by_role("status")).to_contain_text("The special opening is saved")
    expect(holiday).to_contain_text("Special opening: National Day wedding morning")
    expect(holiday).to_contain_text("National Day")

    page.get_by_role("row").filter(has_text="National Day wedding morning").get_by_role(
        "link", name="Generate its slots").click()
    row = page.locator(f'#plan tr[data-date="{HOLIDAY}"]')
    expect(row).to_contain_text("Special opening")
    expect(row).to_contain_text("09:00–12:00")
    expect(row).to_contain_text("Not generated yet")
    check(page, "desk-slots-preview")
    page.get_by_role("button", name="Generate slots for these dates").click()
    expect(page.get_by_role("status")).to_contain_text("Slots created: 1; already there: 0.")
    expect(row).to_contain_text("0 of 12 booked")
    office_id = api.office_id("CD-JINJIANG")
    free = api.request("GET", f"/api/v1/offices/{office_id}/slots", params={"from": HOLIDAY, "to": HOLIDAY},
                       headers=api.token(CLERK_CD, Api.logins.known[CLERK_CD])).json()["data"]
    assert [(s["capacity"], s["status"]) for s in free] == [(12, "open")]

    # a single slot closed by the clerk, and reopened
    row.get_by_role("button", name="Close").click()
    expect(page.get_by_role("status")).to_contain_text("The slot is closed")
    expect(row).to_contain_text("Closed by a clerk")
    check(page, "desk-slots")
    row.get_by_role("button", name="Reopen").click()
    expect(page.get_by_role("status")).to_contain_text("The slot is open again")
    expect(row.get_by_role("button", name="Close")).to_be_visible()
