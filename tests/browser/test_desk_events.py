"""/desk/events: a clerk publishes a wedding event, sees the sign-ups by state, cancels a
place and the waitlisted couple moves up; the masked CSV export."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import Api, check
from tests.factories import couple_parties


def sign_up(api: Api, event_id: str, name: str) -> dict:
    couple = api.couple(f"e-{uuid.uuid4().hex[:10]}@example.com")
    parties = couple_parties()
    parties[1]["name"] = name
    response = api.request("POST", f"/api/v1/events/{event_id}/signups",
                           headers={**couple, "Idempotency-Key": uuid.uuid4().hex},
                           json={"parties": parties, "marriage_date": "2026-06-01"})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_waitlisted_couple_moves_up_when_a_place_is_cancelled(clerk_page: Page, api: Api):
    page = clerk_page
    page.get_by_role("navigation", name="员工菜单").get_by_role("link", name="婚礼活动").click()
    expect(page.locator("h1")).to_have_text("婚礼活动")
    page.locator("#new-event summary").click()
    page.get_by_role("button", name="发布活动").click()  # nothing filled: said beside the fields
    expect(page.get_by_role("alert")).to_be_visible()
    page.fill('[name="title_zh"]', "国庆集体婚礼")
    page.fill('[name="title_en"]', "National Day Collective Wedding")
    page.fill('[name="venue_zh"]', "颁证大厅")
    page.fill('[name="address_zh"]', "广州市天河区天府路1号")
    page.fill('[name="starts_at"]', "2026-10-02T09:30")
    page.fill('[name="ends_at"]', "2026-10-02T11:30")
    page.fill('[name="capacity"]', "1")
    page.fill('[name="guests_per_couple"]', "2")
    page.get_by_role("button", name="发布活动").click()
    expect(page.get_by_role("status").first).to_have_text("活动已发布。")
    expect(page.locator("h1")).to_have_text("国庆集体婚礼")
    event_id = page.url.split("/desk/events/")[1].split("?")[0]

    first = sign_up(api, event_id, "周敏")
    second = sign_up(api, event_id, "吴霞")
    assert (first["status"], second["status"]) == ("confirmed", "waitlisted")
    page.reload()
    second_row = page.locator(f'tr[data-code="{second["code"]}"]')
    expect(second_row.locator(".signup-status")).to_have_text("候补中 · 第 1 位")
    expect(page.locator(".counts")).to_contain_text("1已确认")
    check(page, "desk-event")

    page.get_by_role("button", name=f"取消 {first['code'][:4]}-{first['code'][4:]}").click()
    expect(page.get_by_role("status").first).to_have_text("报名已取消，名额已由候补递补。")
    expect(second_row.locator(".signup-status")).to_have_text("已确认")
    expect(page.locator(f'tr[data-code="{first["code"]}"] .signup-status')).to_have_text("已取消")

    with page.expect_download() as download:
        page.get_by_role("link", name="导出（CSV，已脱敏）").click()
    text = open(download.value.path(), encoding="utf-8-sig").read()
    assert "吴霞" in text and f"{second['code'][:4]}-{second['code'][4:]}" in text
    assert "*****" in text  # masked ID numbers

    page.goto("/desk/events")
    expect(page.get_by_role("link", name="国庆集体婚礼")).to_be_visible()
    check(page, "desk-events")
