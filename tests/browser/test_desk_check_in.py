"""/desk/check-in: by a typed code, by a scanner's keystrokes (code + Enter), the actions on
the appointment (check in, reveal with a reason, complete, turn away); a second counter's
/desk shows the change by itself."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Api, check
from tests.browser.desk_data import walk_in
from tests.browser.desk_fixtures import CLERK, staff_tab


def test_a_clerk_checks_a_couple_in_by_the_typed_code(clerk_page: Page, api: Api):
    booked = walk_in(api)
    page = clerk_page
    page.get_by_role("navigation", name="员工菜单").get_by_role("link", name="签到", exact=True).click()
    check(page, "desk-check-in")
    page.fill('[name="code"]', booked["code"].lower())  # typed as it comes
    page.get_by_role("button", name="查找").click()
    card = page.locator("section.appointment")
    expect(card).to_contain_text("已确认")
    expect(card.locator(".id-number").first).to_contain_text("*****")  # masked
    check(page, "desk-appointment")
    card.get_by_role("button", name="签到", exact=True).click()
    expect(page.get_by_role("status").first).to_have_text("已签到。")
    expect(card.locator("h2")).to_contain_text("已签到")

    card.locator("summary", has_text="显示完整证件号码和电话").click()
    page.get_by_role("button", name="显示", exact=True).click()  # no reason: refused beside the field
    expect(page.locator("#f-reveal_reason-error")).to_be_visible()
    page.fill('[name="reveal_reason"]', "核对户口簿")
    page.get_by_role("button", name="显示", exact=True).click()
    expect(card.locator(".id-number").first).not_to_contain_text("*")
    check(page, "desk-revealed")
    audit = api.request("GET", "/api/v1/audit", headers=api.token("admin@demo.invalid",
                                                                   Api.logins.known["admin@demo.invalid"]),
                        params={"action": "party.reveal"}).json()["data"]
    assert any(e["target_id"] == booked["id"] and e["detail"].get("reason") == "核对户口簿" for e in audit)

    card.get_by_role("button", name="办结登记").click()
    expect(card.locator("h2")).to_contain_text("已办结")


def test_a_scanners_keystrokes_check_a_couple_in_and_the_other_counter_sees_it(clerk_page: Page, api: Api,
                                                                                browser: Browser, server: str):
    booked = walk_in(api)
    other_counter = staff_tab(browser, server, CLERK)
    second = next(other_counter)
    row = second.locator(f'tr[data-code="{booked["code"]}"]')
    expect(row).to_contain_text("已确认")

    page = clerk_page
    page.goto("/desk/check-in")
    page.check("#auto")
    page.locator('[name="code"]').focus()  # the page opens with the field focused
    page.keyboard.type(booked["code"], delay=5)  # a handheld scanner is a keyboard
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").first).to_have_text("已签到。")
    expect(page.locator("section.appointment h2")).to_contain_text("已签到")
    expect(page.locator("#auto")).to_be_checked()  # ready for the next couple
    expect(page.locator('[name="code"]')).to_be_focused()

    expect(row).to_contain_text("已签到", timeout=8000)  # the other counter's roster polls
    next(other_counter, None)


def test_a_couple_is_turned_away_with_the_reason_in_english(english_clerk_page: Page, api: Api):
    booked = walk_in(api)
    page = english_clerk_page
    page.goto(f"/desk/check-in?code={booked['code']}")
    page.locator("summary", has_text="Turn away").click()
    page.fill('[name="reason"]', "The household register is missing.")
    page.get_by_role("button", name="Turn away").click()
    expect(page.locator("section.appointment h2")).to_contain_text("Turned away")
    expect(page.locator("section.appointment")).to_contain_text("The household register is missing.")
    check(page, "desk-turned-away")


def test_an_unknown_code_is_said_beside_the_field(clerk_page: Page):
    page = clerk_page
    page.goto("/desk/check-in")
    page.fill('[name="code"]', "ZZZZ-9999")
    page.keyboard.press("Enter")
    expect(page.locator("#f-code-error")).to_have_text("本登记处没有这个预约码的预约。")
    expect(page).to_have_url(re.compile(r"/desk/check-in"))


CAMERA_STUB = """
(() => {
  // a browser with BarcodeDetector and a camera (this Chromium on Linux has neither): the
  // detector reads the code of the couple's QR code from the camera's picture
  window.BarcodeDetector = class {
    constructor(options) { this.formats = options.formats; }
    async detect(source) { return source.videoWidth ? [{ rawValue: window.__qr, format: "qr_code" }] : []; }
  };
  navigator.mediaDevices.getUserMedia = async () => {
    const canvas = document.createElement("canvas");
    canvas.width = 64; canvas.height = 64;
    const ctx = canvas.getContext("2d");
    setInterval(() => { ctx.fillStyle = "#" + Math.floor(Math.random() * 999); ctx.fillRect(0, 0, 64, 64); }, 50);
    return canvas.captureStream(10);
  };
})();
"""


def test_the_camera_reads_the_qr_code_where_the_browser_can_and_is_not_offered_where_it_cannot(
        clerk_page: Page, api: Api, browser: Browser, server: str):
    page = clerk_page
    page.goto("/desk/check-in")
    expect(page.locator("#camera-scan")).to_be_hidden()  # no BarcodeDetector here: scanner or keyboard

    booked = walk_in(api)
    tab = staff_tab(browser, server, CLERK, next_path="/desk/check-in")
    phone = next(tab)
    phone.add_init_script(CAMERA_STUB + f"window.__qr = {booked['code']!r};")
    phone.goto("/desk/check-in")
    phone.check("#auto")
    phone.get_by_role("button", name="用摄像头扫码").click()
    expect(phone.get_by_role("status").first).to_have_text("已签到。")
    expect(phone.locator("section.appointment h2")).to_contain_text(booked["code"][:4])
    next(tab, None)
