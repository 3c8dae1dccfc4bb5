"""Staff sign in through /login with the second factor where it applies: a second server on
the same database with ``BOOKING_STAFF_MFA_REQUIRED`` on (as in production). A new clerk sets
up the authenticator at the first sign-in (QR code and key, first code, recovery codes shown
once), then signs in with a code, and with a recovery code; a wrong code is refused."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from booking.app import create_app
from booking.clock import FixedClock
from booking.runtime import Runtime
from tests.browser.conftest import Api, check
from tests.conftest import DEFAULT_NOW, make_settings
from tests.helpers import live_server


@pytest.fixture(scope="module")
def mfa_server(server: str, pg_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(pg_database, tmp_path_factory.mktemp("mfa"), office_cache_seconds=0,
                             staff_mfa_required=True)
    runtime = Runtime.build(settings, clock=FixedClock(DEFAULT_NOW))
    runtime.run_in_process_jobs = False
    with live_server(create_app(runtime=runtime, close_runtime=True)) as url:
        yield url


def password_step(page: Page, email: str) -> None:
    page.goto("/login?next=/desk")
    page.fill('[name="email"]', email)
    page.fill('[name="password"]', "clerk-password-1")
    page.locator('form[action="/login"] button[type=submit]').click()
    expect(page).to_have_url(re.compile(r"/login/second-factor\?next=/desk$"))


def log_out(page: Page) -> None:
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/$"))


def test_a_clerk_sets_up_and_uses_the_second_factor(browser: Browser, mfa_server: str, api: Api):
    email = f"clerk-{uuid.uuid4().hex[:8]}@example.com"
    admin = api.token("admin@demo.invalid", Api.logins.known["admin@demo.invalid"])
    created = api.request("POST", "/api/v1/users", headers=admin, json={
        "email": email, "password": "clerk-password-1", "name": "新登记员", "role": "clerk",
        "office_id": api.office_id()})
    assert created.status_code == 201, created.text

    context = browser.new_context(base_url=mfa_server, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    assert page.goto("/desk").url.endswith("/login?next=/desk")
    password_step(page, email)
    expect(page.locator("h1")).to_have_text("二次验证")
    check(page, "login-second-factor-setup")
    page.get_by_role("button", name="设置身份验证器应用").click()
    expect(page.locator("figure.qr svg")).to_be_visible()
    secret = page.locator(".totp-secret").inner_text()
    totp = pyotp.TOTP(secret)
    page.fill('[name="code"]', "000000" if totp.at(DEFAULT_NOW - timedelta(seconds=30)) != "000000" else "111111")
    page.get_by_role("button", name="确认").click()
    expect(page.locator("#f-code-error")).to_have_text("验证码不正确。")
    check(page, "login-second-factor-code")
    page.fill('[name="code"]', totp.at(DEFAULT_NOW - timedelta(seconds=30)))  # the server's clock stands still
    page.get_by_role("button", name="确认").click()
    expect(page.locator("h1")).to_have_text("恢复码")
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    check(page, "login-recovery-codes")
    page.get_by_role("link", name="我已妥善保存，继续").click()
    expect(page).to_have_url(re.compile(r"/desk$"))
    expect(page.locator("h1")).to_contain_text("当日名册")

    log_out(page)
    password_step(page, email)
    expect(page.get_by_role("button", name="设置身份验证器应用")).to_have_count(0)  # enrolled: a code
    assert page.goto("/desk").url.endswith("/login?next=/desk")  # half logged in is not logged in
    password_step(page, email)
    page.fill('[name="code"]', totp.at(DEFAULT_NOW))
    page.get_by_role("button", name="确认").click()
    expect(page).to_have_url(re.compile(r"/desk$"))

    log_out(page)
    password_step(page, email)
    page.locator("summary", has_text="改用恢复码").click()
    page.fill('[name="recovery_code"]', codes[0])
    page.get_by_role("button", name="确认").click()
    expect(page).to_have_url(re.compile(r"/desk$"))
    context.close()
