"""/desk/ballots: a clerk adds the office's own peak day, sets up its ballot through the
page, sees the entries come in, and runs the draw by hand when the worker has not (the
server's clock stands still: the window and the draw's moment are moved with SQL, as the
passing of time would); a clerk of another office sees none of it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Api, check
from tests.browser.desk_fixtures import OTHER_CLERK, staff_tab
from tests.browser.test_ballots import _sql
from tests.factories import couple_parties

DAY = "2026-10-28"  # a Wednesday, six weeks after the suite's time


@pytest.fixture
def other_clerk_page(browser: Browser, server: str) -> Iterator[Page]:
    yield from staff_tab(browser, server, OTHER_CLERK)


def test_a_clerk_sets_up_a_ballot_and_runs_its_draw(clerk_page: Page, other_clerk_page: Page, api: Api,
                                                     pg_database: str):
    clerk, office_id = api.clerk(), api.office_id()
    assert api.request("POST", f"/api/v1/offices/{office_id}/slots/generate", headers=clerk,
                       json={"from": DAY, "to": DAY}).status_code == 200
    page = clerk_page
    page.get_by_role("navigation", name="员工菜单").get_by_role("link", name="摇号").click()
    expect(page.locator("h1")).to_have_text("高峰日与摇号")

    page.locator("#new-peak-day summary").click()
    page.locator("#new-peak-day").get_by_label("日期").fill(DAY)
    page.get_by_label("名称（中文）").fill("办公室纪念日")
    page.get_by_role("button", name="添加高峰日").click()
    expect(page.get_by_role("status").first).to_have_text("高峰日已添加。")
    row = page.locator("tr", has_text="办公室纪念日")
    expect(row).to_contain_text("先到先得")
    row.get_by_role("link", name="设置摇号").click()

    form = page.locator("#new-ballot form")
    expect(form.get_by_label("高峰日")).to_have_value(DAY)
    form.get_by_label("开始报名（办公室时间）").fill("2026-09-11T09:00")
    form.get_by_label("截止报名").fill("2026-09-20T18:00")
    form.get_by_label("摇号时间").fill("2026-09-08T10:00")  # before the window: refused beside the field
    form.get_by_role("button", name="设置摇号").click()
    expect(page.get_by_role("alert")).to_be_visible()
    form = page.locator("#new-ballot form")
    form.get_by_label("摇号时间").fill("2026-09-21T10:00")
    form.get_by_role("button", name="设置摇号").click()
    expect(page.get_by_role("status").first).to_contain_text("摇号已设置")
    expect(page.locator(".ballot-state")).to_have_text("即将开始报名")
    ballot_id = page.url.split("/desk/ballots/")[1].split("?")[0]
    check(page, "desk-ballot")

    # three couples enter once the window is open
    _sql(pg_database, f"UPDATE ballot SET entry_opens_at = '2026-09-10T09:00:00+08:00' "
                      f"WHERE id = '{uuid.UUID(ballot_id)}'")
    for n in range(3):
        couple = api.couple(f"ballot-desk-{n}-{uuid.uuid4().hex[:8]}@example.com")
        entered = api.request("POST", f"/api/v1/ballots/{ballot_id}/entries", headers=couple,
                              json={"parties": couple_parties(region="440106", hukou="44")})
        assert entered.status_code == 201, entered.text
    page.reload()
    expect(page.locator(".entry-count")).to_have_text("3")
    expect(page.locator("table.entries tbody tr")).to_have_count(3)
    expect(page.locator("table.entries")).not_to_contain_text("110101")  # ID numbers masked
    expect(page.get_by_role("button", name="立即摇号")).to_have_count(0)  # not its moment yet

    # the window closed and the draw's moment passed without the worker
    _sql(pg_database, f"UPDATE ballot SET entry_closes_at = '2026-09-10T09:30:00+08:00', "
                      f"draw_at = '2026-09-10T09:45:00+08:00' WHERE id = '{uuid.UUID(ballot_id)}'")
    page.reload()
    page.get_by_role("button", name="立即摇号").click()
    expect(page.get_by_role("status").first).to_contain_text("摇号已完成")
    expect(page.locator(".ballot-state")).to_have_text("已摇号")
    expect(page.locator("table.entries .entry-status", has_text="中签")).to_have_count(3)
    expect(page.locator("main")).to_contain_text("种子（摇号时公开）")
    check(page, "desk-ballot-drawn")
    page.goto("/desk/ballots")
    check(page, "desk-ballots")

    # another office's clerk: not in their list, and the ballot's page is not found
    other = other_clerk_page
    other.goto("/desk/ballots")
    expect(other.locator("main")).not_to_contain_text("办公室纪念日")
    assert other.goto(f"/desk/ballots/{ballot_id}").status == 404
    assert other.request.post(f"/desk/ballots/{ballot_id}/draw").status in (403, 404)
