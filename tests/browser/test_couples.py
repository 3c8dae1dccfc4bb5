"""A couple's journeys through the pages, in a real Chromium, in Chinese and in English."""

from __future__ import annotations

import io
import re
import uuid
from datetime import date
from typing import Any
from urllib.parse import urlparse

from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.conftest import Api, check
from tests.factories import couple_parties, resident_id

OFFICE = "广州市天河区婚姻登记处"


def register(page: Page, name: str = "张伟") -> str:
    """Register through the page (from wherever the page is: the next page is kept)."""
    email = f"c-{uuid.uuid4().hex[:10]}@example.com"
    page.fill('[name="name"]', name)
    page.fill('[name="email"]', email)
    page.fill('[name="password"]', "password-123")
    page.locator('form[action="/register"] button[type=submit]').click()
    return email


def fill_party(page: Page, index: int, party: dict[str, Any]) -> None:
    page.fill(f'[name="parties.{index}.name"]', party["name"])
    page.fill(f'[name="parties.{index}.id_number"]', party["id_number"])
    page.fill(f'[name="parties.{index}.phone"]', party["phone"])
    page.select_option(f'[name="parties.{index}.hukou_province"]', party.get("hukou_province", "44"))


def error_beside(page: Page, field: str) -> str:
    """The error a screen reader reads for a field: the element its aria-describedby names."""
    ids = page.locator(f'[name="{field}"]').get_attribute("aria-describedby") or ""
    errors = [page.locator(f"#{i}").inner_text() for i in ids.split() if i.endswith("-error")]
    return errors[0] if errors else ""


def office_page(page: Page) -> None:
    page.goto("/")
    page.fill("#q", "天河")
    expect(page.locator("#offices h3")).to_have_count(1)  # filtered as one types (HTMX)
    page.get_by_role("link", name=OFFICE, exact=True).click()
    expect(page.locator("h1")).to_have_text(OFFICE)


def test_a_couple_registers_books_sees_the_code_downloads_the_invite_moves_and_cancels(page: Page):
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    check(page, "home")
    office_page(page)
    expect(page.locator(".release")).to_contain_text("放出")
    check(page, "office")
    page.locator(".slots a").first.click()
    expect(page).to_have_url(re.compile(r"/login\?next="))  # booking needs an account
    check(page, "login")
    page.get_by_role("link", name="注册").click()
    check(page, "register")
    register(page)
    expect(page).to_have_url(re.compile(r"/offices/\d+/book\?slot=\d+"))  # back where they were
    check(page, "book")

    parties = couple_parties()
    fill_party(page, 0, {**parties[0], "id_number": parties[0]["id_number"][:-1] + "0"
                         if parties[0]["id_number"][-1] != "0" else parties[0]["id_number"][:-1] + "1"})
    fill_party(page, 1, parties[1])
    page.get_by_role("button", name="预约此时段").click()
    assert error_beside(page, "parties.0.id_number") == "身份证号码校验码不正确。"
    expect(page.get_by_role("alert")).to_contain_text("输入无效")
    check(page, "book-error")

    page.fill('[name="parties.0.id_number"]', parties[0]["id_number"])
    page.get_by_role("button", name="预约此时段").click()
    expect(page.get_by_role("status")).to_have_text("预约成功。")
    code = page.locator("p.code").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    expect(page.locator("figure.qr svg title")).to_have_text(f"预约码 {code}")
    check(page, "appointment")

    with page.expect_download() as download:
        page.get_by_role("link", name="添加到日历（.ics）").click()
    invite = open(download.value.path(), encoding="utf-8").read()
    assert "METHOD:REQUEST" in invite and code.replace("-", "") in invite.replace("-", "")

    page.get_by_role("button", name="获取我的日历订阅链接").click()
    feed = urlparse(page.locator(".feed a").inner_text())  # the service's public URL; here, its path
    assert feed.path.startswith("/api/v1/calendars/feeds/")
    assert "BEGIN:VEVENT" in page.request.get(feed.path).text()

    when = page.locator("dl.facts dd").first.inner_text()
    page.get_by_text("改约到其他时间").click()
    choice = page.locator('[name="slot_id"] option').nth(3)
    page.select_option('[name="slot_id"]', choice.get_attribute("value"))
    page.get_by_role("button", name="确认改约").click()
    expect(page.get_by_role("status")).to_have_text("预约已改到新的时间。")
    assert page.locator("dl.facts dd").first.inner_text() != when

    page.get_by_text("取消预约").click()
    page.get_by_role("button", name="确认取消").click()
    expect(page.get_by_role("status")).to_have_text("预约已取消。")
    expect(page.locator(".tag").first).to_have_text("已取消")
    page.get_by_role("link", name="我的预约").first.click()
    expect(page.locator("main")).to_contain_text("已取消")
    check(page, "me")


def test_a_full_slot_offers_the_nearest_free_ones(page: Page, api: Api):
    office_id = api.office_id()
    page.goto(f"/offices/{office_id}")
    link = page.locator(".slots a").nth(2)
    slot_id = int(re.search(r"slot=(\d+)", link.get_attribute("href")).group(1))
    assert api.request("PATCH", f"/api/v1/slots/{slot_id}", json={"capacity": 0},
                       headers=api.clerk()).status_code == 200
    page.goto(f"/register?next=/offices/{office_id}/book?slot={slot_id}")
    register(page)
    expect(page.locator("h1")).to_have_text("该时段已无法预约")
    offered = page.locator(".slots a")
    expect(offered.first).to_be_visible()
    assert offered.count() >= 3
    check(page, "full")
    offered.first.click()
    expect(page.get_by_role("button", name="预约此时段")).to_be_visible()


def test_a_cross_province_application_with_an_upload(page: Page, api: Api):
    office_id = api.office_id()
    page.goto(f"/register?next=/cross-province")
    register(page, "王芳")
    page.select_option('[name="office_id"]', str(office_id))
    page.fill('[name="date"]', "2026-09-15")
    page.select_option('[name="parties.0.hukou_province"]', "51")
    page.select_option('[name="parties.1.hukou_province"]', "51")
    page.select_option('[name="permit"]', "no")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#answer-title + p")).to_contain_text("可以")
    check(page, "cross-province")

    groom = resident_id(date(1994, 4, 2), "M", "510104")
    bride = resident_id(date(1995, 6, 9), "F", "510104")
    fill_party(page, 0, {"name": "王强", "id_number": groom, "phone": "13911112222", "hukou_province": "51"})
    fill_party(page, 1, {"name": "王芳", "id_number": bride, "phone": "13911113333", "hukou_province": "51"})
    page.get_by_role("button", name="提交申请").click()
    expect(page.get_by_role("status")).to_have_text("申请已提交，请上传所需材料。")
    expect(page.locator(".tag").first).to_have_text("登记处审核中")

    scan = io.BytesIO()
    Image.new("RGB", (60, 40), "white").save(scan, format="PNG")
    page.select_option('[name="kind"]', "id_card")
    page.select_option('[name="party"]', "1")
    page.set_input_files('[name="file"]', files=[{"name": "id.png", "mimeType": "image/png",
                                                   "buffer": scan.getvalue()}])
    page.get_by_role("button", name="上传").click()
    expect(page.get_by_role("status")).to_have_text("材料已上传。")
    expect(page.locator("table")).to_contain_text("id.png")
    check(page, "application")


def test_an_event_sign_up_lands_on_the_waitlist_with_its_position(page: Page, api: Api):
    clerk = api.clerk()
    event = api.request("POST", "/api/v1/events", headers=clerk, json={
        "office_id": api.office_id(), "kind": "collective", "title_zh": "七夕集体婚礼", "title_en": "Qixi Collective Wedding",
        "venue_zh": "颁证大厅", "address_zh": "广州市天河区天府路1号", "starts_at": "2026-10-20T09:30:00+08:00",
        "ends_at": "2026-10-20T11:30:00+08:00", "capacity": 1, "guests_per_couple": 2})
    assert event.status_code == 201, event.text
    event_id = event.json()["id"]
    other = api.couple(f"o-{uuid.uuid4().hex[:8]}@example.com")
    first = api.request("POST", f"/api/v1/events/{event_id}/signups", headers=other, json={
        "parties": couple_parties(), "marriage_date": "2026-06-01"})
    assert first.json()["status"] == "confirmed", first.text

    page.goto("/events")
    check(page, "events")
    page.goto(f"/register?next=/events/{event_id}")
    register(page)
    expect(page.locator("h1")).to_have_text("七夕集体婚礼")
    expect(page.get_by_text("名额已满")).to_be_visible()
    for index, party in enumerate(couple_parties()):
        fill_party(page, index, party)
    page.fill('[name="marriage_date"]', "2026-08-01")
    page.fill('[name="guests"]', "1")
    page.get_by_role("button", name="报名").click()
    expect(page.locator("#mine")).to_contain_text("候补第 1 位")
    check(page, "event")


def test_the_same_journey_in_english(english_page: Page):
    page = english_page
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Book your marriage registration")
    check(page, "home")
    page.get_by_role("link", name="中文").click()
    expect(page.locator("h1")).to_have_text("预约婚姻登记")
    page.get_by_role("link", name="English").click()  # remembered in a cookie from now on
    page.get_by_role("link", name="Tianhe District Marriage Registry, Guangzhou", exact=True).click()
    check(page, "office")
    page.locator(".slots a").first.click()
    page.get_by_role("link", name="Register").click()
    register(page, "Wei Zhang")
    parties = couple_parties()
    fill_party(page, 0, parties[0])
    fill_party(page, 1, {**parties[1], "phone": "12345"})
    page.get_by_role("button", name="Book this slot").click()
    assert error_beside(page, "parties.1.phone") == "Must be a mobile phone number."
    check(page, "book-error")
    page.fill('[name="parties.1.phone"]', parties[1]["phone"])
    page.get_by_role("button", name="Book this slot").click()
    expect(page.get_by_role("status")).to_have_text("Your appointment is booked.")
    expect(page.get_by_role("heading", name="Show this at the counter")).to_be_visible()
    check(page, "appointment")
    page.get_by_text("Cancel the appointment").click()
    page.get_by_role("button", name="Yes, cancel it").click()
    expect(page.get_by_role("status")).to_have_text("The appointment is cancelled.")
    page.goto("/me")
    check(page, "me")
    page.goto("/cross-province")
    check(page, "cross-province")
    page.goto("/events")
    check(page, "events")
    page.locator("#events h3 a").first.click()
    check(page, "event")
    page.goto("/logout")
    check(page, "logout")
    page.get_by_role("button", name="Log out").last.click()
    expect(page.get_by_role("status")).to_have_text("You are logged out.")
    page.goto("/login")
    check(page, "login")
    page.goto("/register")
    check(page, "register")
    page.goto("/offices/999999")
    expect(page.locator("h1")).to_have_text("Not found.")
    check(page, "not-found")


def test_keyboard_only(page: Page):
    """Skip link first, then the login form by keyboard alone."""
    page.goto("/login")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("跳到正文")
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    page.locator('[name="email"]').focus()
    page.keyboard.type("nobody@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type("wrong-password")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("邮箱或密码不正确")
    assert page.locator('[name="email"]').input_value() == "nobody@example.com"
