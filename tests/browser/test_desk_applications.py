"""/desk/applications: the cross-province queue, oldest first; a clerk views the document in
the page, then approves, and the held appointment is confirmed."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Api, check
from tests.browser.desk_data import application_with_documents


def test_an_application_is_approved_after_viewing_its_document(clerk_page: Page, api: Api):
    app = application_with_documents(api, name="陈静")
    page = clerk_page
    page.get_by_role("navigation", name="员工菜单").get_by_role("link", name="跨省申请").click()
    expect(page.locator("h1")).to_have_text("跨省通办申请")
    check(page, "desk-applications")
    page.get_by_role("link", name="张伟 & 陈静").last.click()  # the newest is the last: oldest first
    expect(page.locator("h1")).to_have_text("跨省通办申请")
    expect(page.locator("main")).to_contain_text("所需材料已全部上传")

    page.get_by_role("button", name="记录审核结果").click()  # no decision chosen
    expect(page.get_by_role("alert")).to_be_visible()

    page.locator("ul.documents a").first.click()
    image = page.locator("#document img")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 120  # the scan itself, shown
    check(page, "desk-application")

    page.get_by_label("批准：预约确认").check()
    page.get_by_role("button", name="记录审核结果").click()
    expect(page.get_by_role("status").first).to_have_text("申请已批准，预约已确认。")
    expect(page.locator(".app-status")).to_have_text("已通过")
    expect(page.locator("main")).to_contain_text("已确认")

    clerk = api.clerk()
    audit = api.request("GET", "/api/v1/audit", headers=api.token("admin@demo.invalid",
                                                                   Api.logins.known["admin@demo.invalid"]),
                        params={"action": "application.document.read"}).json()["data"]
    assert any(e["target_id"] == app["id"] for e in audit)
    assert clerk
