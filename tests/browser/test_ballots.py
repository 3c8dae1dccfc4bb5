"""A couple enters a peak day's ballot through the pages, in a real Chromium (axe-checked)."""

from __future__ import annotations

import asyncio
import threading
import uuid

import asyncpg
from playwright.sync_api import Page, expect

from tests.browser.conftest import Api, check
from tests.browser.test_couples import fill_party, register
from tests.factories import couple_parties


def _sql(database_url: str, statement: str) -> None:
    """One statement on the server's database, from a thread of its own (sync Playwright
    keeps an event loop running in this one)."""
    async def run() -> None:
        conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    worker = threading.Thread(target=lambda: asyncio.run(run()))
    worker.start()
    worker.join()


def test_a_couple_enters_a_peak_day_ballot(page: Page, api: Api, pg_database: str):
    clerk, office_id = api.clerk(), api.office_id()
    assert api.request("POST", f"/api/v1/offices/{office_id}/peak-days", headers=clerk,
                       json={"date": "2026-10-21", "name_zh": "十全十美", "name_en": "All good"}).status_code == 201
    assert api.request("POST", f"/api/v1/offices/{office_id}/slots/generate", headers=clerk,
                       json={"from": "2026-10-21", "to": "2026-10-21"}).status_code == 200
    ballot = api.request("POST", f"/api/v1/offices/{office_id}/ballots", headers=clerk, json={
        "date": "2026-10-21", "service": "marriage_registration", "entry_opens_at": "2026-09-10T10:05:00+08:00",
        "entry_closes_at": "2026-09-30T18:00:00+08:00", "draw_at": "2026-10-01T10:00:00+08:00"})
    assert ballot.status_code == 201, ballot.text
    # the server's clock stands still at 10:00: let the window have opened a minute ago
    _sql(pg_database, f"UPDATE ballot SET entry_opens_at = '2026-09-10T09:59:00+08:00' "
                      f"WHERE id = '{uuid.UUID(ballot.json()['id'])}'")

    page.goto(f"/offices/{office_id}")
    page.get_by_role("link", name="2026年10月21日星期三 · 结婚登记").click()
    expect(page.locator("h1")).to_contain_text("摇号")
    expect(page.get_by_text("十全十美")).to_be_visible()
    check(page, "ballot")
    page.get_by_role("link", name="登录后报名").click()
    page.get_by_role("link", name="注册").click()
    register(page)
    for index, party in enumerate(couple_parties()):
        fill_party(page, index, party)
    page.get_by_role("button", name="参加摇号").click()
    expect(page.get_by_role("status")).to_contain_text("摇号报名已收到")
    expect(page.locator("#mine")).to_contain_text("已报名：等待摇号")
    check(page, "ballot-entered")
    page.goto("/me")
    expect(page.locator("#ballots + ul")).to_contain_text("已报名：等待摇号")
    check(page, "me-ballot")
