"""Signed-in staff for the staff pages' browser tests (imported by ``conftest.py``).

``clerk_page``: the demo clerk of GZ-TIANHE (广州市天河区), signed in through ``/login`` in
Chinese, on ``/desk``; ``english_clerk_page`` the same in English; ``admin_page``: the demo
admin. ``sign_in(page, email)`` signs any demo account in (the passwords ``booking demo``
generated); ``staff_tab(...)`` opens a desktop-sized context for another staff member
(a second counter, a clerk of another office).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Api

DESKTOP = {"width": 1280, "height": 900}
CLERK = "clerk.gz-tianhe@demo.invalid"
OTHER_CLERK = "clerk.sz-futian@demo.invalid"  # the same province, another office
ADMIN = "admin@demo.invalid"


def sign_in(page: Page, email: str, password: str | None = None, next_path: str = "/desk") -> None:
    """Log in through the page, as staff do (no second factor asked in the test settings;
    tests/browser/test_desk_login.py walks the one that is)."""
    page.goto(f"/login?next={next_path}")
    page.fill('[name="email"]', email)
    page.fill('[name="password"]', password or Api.logins.known[email])
    page.locator('form[action="/login"] button[type=submit]').click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def staff_tab(browser: Browser, server: str, email: str, locale: str = "zh-CN",
              next_path: str = "/desk") -> Iterator[Page]:
    context = browser.new_context(base_url=server, viewport=DESKTOP, locale=locale, accept_downloads=True)
    page = context.new_page()
    sign_in(page, email, next_path=next_path)
    yield page
    context.close()


@pytest.fixture
def clerk_page(browser: Browser, server: str) -> Iterator[Page]:
    yield from staff_tab(browser, server, CLERK)


@pytest.fixture
def english_clerk_page(browser: Browser, server: str) -> Iterator[Page]:
    yield from staff_tab(browser, server, CLERK, "en-US")


@pytest.fixture
def admin_page(browser: Browser, server: str) -> Iterator[Page]:
    yield from staff_tab(browser, server, ADMIN, next_path="/desk/offices")
