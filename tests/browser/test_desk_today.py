"""The clerk's day (/desk): the roster by hour, counts and next arrivals; two counters see
each other's changes by the page's polling; the print view and the roster's calendar."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import check


def test_a_clerk_signs_in_to_the_desk_with_the_staff_menu(clerk_page: Page):
    page = clerk_page
    expect(page).to_have_url(f"{page.url.split('/desk')[0]}/desk")
    nav = page.get_by_role("navigation", name="员工菜单")
    for text in ("今日", "签到", "现场预约", "排班", "时段", "跨省申请", "婚礼活动", "离婚登记"):
        expect(nav.get_by_role("link", name=text, exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="系统管理")).to_have_count(0)  # admins only
    expect(page.locator("h1")).to_contain_text("当日名册")
    check(page, "desk")
