"""/desk/walk-in: a couple without an appointment is booked into a free slot of today."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import check
from tests.browser.test_couples import fill_party
from tests.factories import couple_parties


def test_a_walk_in_couple_is_booked_into_a_free_slot_today(clerk_page: Page):
    page = clerk_page
    page.get_by_role("navigation", name="员工菜单").get_by_role("link", name="现场预约").click()
    expect(page.locator("h1")).to_have_text("为现场当事人预约")
    check(page, "desk-walk-in")
    page.get_by_role("button", name="预约现场时段").click()  # nothing filled: errors beside the fields
    expect(page.get_by_role("alert")).to_be_visible()
    for index, party in enumerate(couple_parties()):
        fill_party(page, index, party)
    page.locator('[name="slot_id"]').first.check()
    page.get_by_role("button", name="预约现场时段").click()
    expect(page.get_by_role("status").first).to_have_text("现场当事人已预约。")
    card = page.locator("section.appointment")
    expect(card).to_contain_text("已确认")
    expect(card).to_contain_text("现场")
    card.get_by_role("button", name="签到", exact=True).click()
    expect(card.locator("h2")).to_contain_text("已签到")
