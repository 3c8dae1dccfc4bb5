"""The administration in a real Chromium: an admin creates a clerk, the clerk signs in, the
admin deactivates them and the clerk's open page stops working; a failed notification is
retried; the audit log is searched; every admin page passes axe and is photographed.
A clerk never reaches /admin."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import check
from tests.browser.desk_fixtures import DESKTOP, sign_in
from tests.browser.test_ballots import _sql


def test_an_admin_deactivates_a_clerk_and_the_clerks_open_page_stops_working(admin_page: Page, browser: Browser,
                                                                            server: str):
    admin = admin_page
    admin.goto("/admin/staff")
    expect(admin.locator("h1")).to_have_text("员工账号")
    email = f"clerk-{uuid.uuid4().hex[:8]}@example.com"
    admin.fill("#f-name", "临时登记员")
    admin.fill("#f-email", email)
    admin.fill("#f-password", "password-123")
    admin.select_option("#f-role", "clerk")
    admin.select_option("#f-office_id", label="成都市锦江区婚姻登记处")
    admin.get_by_role("button", name="创建账号").click()
    expect(admin.get_by_role("status")).to_have_text("账号已创建。")
    expect(admin.locator(f'tr[data-email="{email}"]')).to_contain_text("启用")
    check(admin, "admin-staff")

    context = browser.new_context(base_url=server, viewport=DESKTOP, locale="zh-CN")
    clerk = context.new_page()
    try:
        sign_in(clerk, email, "password-123", next_path="/desk/schedule")
        expect(clerk.locator("h1")).to_have_text("排班、停办与特别开放日")
        expect(clerk.locator(".desk-office")).to_contain_text("成都市锦江区")

        admin.get_by_role("button", name=f"停用 {email}").click()
        expect(admin.get_by_role("status")).to_contain_text("账号已停用")
        expect(admin.locator(f'tr[data-email="{email}"]')).to_contain_text("已停用")

        # the clerk's page, still open, works no more: the next step asks for a login
        clerk.fill("#f-date", "2026-09-25")
        clerk.get_by_role("button", name="预览停办影响").click()
        expect(clerk).to_have_url(re.compile(r"/login\?next="))
        clerk.fill('[name="email"]', email)
        clerk.fill('[name="password"]', "password-123")
        clerk.locator('form[action="/login"] button[type=submit]').click()
        expect(clerk).to_have_url(re.compile(r"/login"))  # and cannot sign in again
    finally:
        context.close()

    admin.goto(f"/admin/audit?who={email}")
    expect(admin.locator("#audit")).to_have_count(0)  # the clerk did nothing
    admin.goto("/admin/audit?what=account")
    expect(admin.locator("#audit")).to_contain_text("account.deactivate")
    expect(admin.locator("#audit")).to_contain_text("account.create")
    check(admin, "admin-audit")


def test_a_failed_notification_is_retried_and_every_admin_page_checked(admin_page: Page, pg_database: str):
    row = uuid.uuid4()
    _sql(pg_database, f"INSERT INTO notification (id, kind, channel, account_id, locale, subject_type, subject_id, "
                      f"sequence, due_at, state, next_attempt_at, attempts, last_error, payload, created_at) VALUES "
                      f"('{row}', 'appointment.confirmed', 'sms', '{uuid.uuid4()}', 'zh_Hans_CN', 'appointment', "
                      f"'{uuid.uuid4()}', 0, now(), 'failed', now(), 6, 'isv.BUSINESS_LIMIT_CONTROL', '{{}}', now())")
    page = admin_page
    page.goto("/admin/notifications")
    failed = page.locator("#failed tbody tr").filter(has_text="isv.BUSINESS_LIMIT_CONTROL")
    expect(failed).to_have_count(1)
    check(page, "admin-notifications")
    failed.get_by_role("button", name="重发").click()
    expect(page.get_by_role("status")).to_have_text("通知已重新排队发送。")
    expect(page.locator("#failed tbody tr").filter(has_text="isv.BUSINESS_LIMIT_CONTROL")).to_have_count(0)

    page.goto("/admin")
    expect(page.locator("h1")).to_have_text("登记处与预约规则")
    check(page, "admin")
    page.get_by_role("link", name="成都市锦江区婚姻登记处").click()
    expect(page.locator("#f-rules-booking_window_days")).to_have_value("15")
    check(page, "admin-office")
    page.goto("/admin/policy")
    expect(page.locator("h1")).to_have_text("管辖政策")
    check(page, "admin-policy")


def test_the_admin_pages_in_english(browser: Browser, server: str):
    from tests.browser.desk_fixtures import ADMIN, staff_tab

    for page in staff_tab(browser, server, ADMIN, "en-US", next_path="/admin"):
        expect(page.locator("h1")).to_have_text("Offices and booking rules")
        page.get_by_role("link", name="Audit log").click()
        page.fill("#f-what", "slots")
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_role("status")).to_contain_text("entries found")
        check(page, "admin-audit")
        page.get_by_role("link", name="Staff accounts").click()
        expect(page.locator("#accounts")).to_contain_text("clerk.gz-tianhe@demo.invalid")
        check(page, "admin-staff")


def test_a_clerk_cannot_reach_the_admin_pages(clerk_page: Page):
    page = clerk_page
    expect(page.get_by_role("navigation", name="员工菜单").get_by_role("link", name="系统管理")).to_have_count(0)
    for path in ("/admin", "/admin/staff", "/admin/audit"):
        response = page.goto(path)
        assert response is not None and response.status == 403
