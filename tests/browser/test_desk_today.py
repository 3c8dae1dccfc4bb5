"""The clerk's day (/desk): the roster by hour, counts and next arrivals; two counters see
each other's changes by the page's polling; the print view and the roster's calendar."""

from __future__ import annotations

import re

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


def test_the_roster_counts_the_day_prints_and_the_admin_chooses_an_office(clerk_page: Page, admin_page: Page,
                                                                         api):
    from tests.browser.desk_data import walk_in

    booked = walk_in(api, name="林")  # the first party's name
    page = clerk_page
    page.reload()
    row = page.locator(f'tr[data-code="{booked["code"]}"]')
    expect(row).to_contain_text("已确认")
    expect(page.locator(".next-arrivals")).to_contain_text(booked["code"][:4])
    page.get_by_role("link", name="打印视图").click()
    expect(page.locator("table.roster")).to_contain_text(booked["code"][:4])
    check(page, "desk-print")
    with page.expect_download() as download:
        page.goto("/desk")
        page.get_by_role("link", name="名册日历（.ics）").click()
    ics = open(download.value.path(), encoding="utf-8").read()
    assert "METHOD:PUBLISH" in ics and booked["code"][:4] in ics and "*" not in ics
    page.get_by_role("navigation", name="员工菜单").get_by_role("link", name="离婚登记").click()
    expect(page.locator("h1")).to_have_text("离婚登记窗口")
    check(page, "desk-divorce")

    admin = admin_page
    expect(admin.locator("h1")).to_have_text("请选择登记处")
    check(admin, "desk-offices")
    admin.get_by_role("link", name="广州市天河区婚姻登记处").click()
    expect(admin.locator(f'tr[data-code="{booked["code"]}"]')).to_be_visible()
    nav = admin.get_by_role("navigation", name="员工菜单")
    expect(nav.get_by_role("link", name="系统管理")).to_have_attribute("href", "/admin")
    nav.get_by_role("link", name="签到", exact=True).click()
    expect(admin).to_have_url(re.compile(r"/desk/check-in\?office=\d+$"))


def test_every_desk_page_in_english(english_clerk_page: Page):
    page = english_clerk_page
    for path, heading in (("/desk", "The day's roster"), ("/desk/check-in", "Check-in"),
                          ("/desk/walk-in", "Book a walk-in couple"),
                          ("/desk/applications", "Cross-province applications"),
                          ("/desk/events", "Wedding events"), ("/desk/divorce", "Divorce desk"),
                          ("/desk/print", "")):
        page.goto(path)
        expect(page.locator("html")).to_have_attribute("lang", "en")
        if heading:
            expect(page.locator("h1")).to_contain_text(heading)
        check(page, "desk" + path.replace("/desk", "").replace("/", "-"))


def test_an_open_desk_goes_to_the_login_when_the_clerk_is_deactivated(browser, server: str, api):
    import uuid

    from tests.browser.desk_fixtures import sign_in

    email = f"clerk-{uuid.uuid4().hex[:8]}@example.com"
    admin = api.token("admin@demo.invalid", api.logins.known["admin@demo.invalid"])
    created = api.request("POST", "/api/v1/users", headers=admin, json={
        "email": email, "password": "clerk-password-1", "name": "临时登记员", "role": "clerk",
        "office_id": api.office_id()})
    assert created.status_code == 201, created.text
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, email, "clerk-password-1")
    expect(page.locator("h1")).to_contain_text("当日名册")
    assert api.request("POST", f"/api/v1/users/{created.json()['id']}/deactivate",
                       headers=admin).status_code in (200, 204)
    # the roster's next poll is refused: the whole page goes to the login (not into the roster)
    expect(page).to_have_url(re.compile(r"/login\?next=/desk"), timeout=15000)
    expect(page.locator("h1")).to_have_text("登录")
    context.close()
