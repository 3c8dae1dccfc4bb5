"""Browser tests: Debian's Chromium driven by Playwright against a live server on PostgreSQL.

Run on their own (``make test`` does, as its second command): ``pytest --browser``. The
server runs the real app (uvicorn, in a thread) on a fresh database seeded by ``booking
demo`` as of the suite's fixed time, so every page shows what a couple would see. Each
page is checked with axe-core (no serious or critical violation) and photographed at 360
and 1280 pixels into ``var/screenshots`` (``SCREENSHOTS``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from booking.app import create_app
from booking.clock import FixedClock
from booking.demo import DEMO_LOGINS_FILE, DemoLogins, seed_demo
from booking.runtime import Runtime
from tests.conftest import DEFAULT_NOW, ROOT, make_settings
from tests.helpers import live_server

CHROMIUM = os.environ.get("BOOKING_CHROMIUM", "/usr/lib/chromium/chromium")
SCREENSHOTS = Path(os.environ.get("BOOKING_SCREENSHOTS", ROOT / "var" / "screenshots"))
WIDTHS = (360, 1280)
PHONE = {"width": 360, "height": 780}


@pytest.fixture(scope="session")
def server(pg_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(pg_database, tmp_path_factory.mktemp("pages"), office_cache_seconds=0)
    clock = FixedClock(DEFAULT_NOW)
    asyncio.run(seed_demo(settings, clock))
    Api.logins = DemoLogins(settings.data_dir / DEMO_LOGINS_FILE)  # the passwords it generated
    runtime = Runtime.build(settings, clock=clock)
    runtime.run_in_process_jobs = False  # notifications are not what these tests look at
    with live_server(create_app(runtime=runtime, close_runtime=True)) as url:
        yield url


@pytest.fixture(scope="session")
def browser(server: str) -> Iterator[Browser]:
    # after the server: sync Playwright runs an event loop in this thread while it is open, so
    # the database set-up and tear-down (asyncio.run) must come before and after it
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        yield chromium
        chromium.close()


def _tab(browser: Browser, server: str, locale: str) -> Iterator[Page]:
    """A phone-sized page in a fresh context (no cookies), with the browser's language."""
    context = browser.new_context(base_url=server, viewport=PHONE, locale=locale, accept_downloads=True)
    yield context.new_page()
    context.close()


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    yield from _tab(browser, server, "zh-CN")


@pytest.fixture
def english_page(browser: Browser, server: str) -> Iterator[Page]:
    yield from _tab(browser, server, "en-US")


_axe = Axe()


def check(page: Page, name: str) -> None:
    """What every page must pass, and what it looks like: axe-core finds no serious or
    critical violation; screenshots at a phone's and a desktop's width."""
    results = _axe.run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, f"{name}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}" for v in bad)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    lang = page.evaluate("document.documentElement.lang")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900 if width > 400 else PHONE["height"]})
        page.screenshot(path=str(SCREENSHOTS / f"{lang}-{name}-{width}.png"), full_page=True)
    page.set_viewport_size(PHONE)


class Api:
    """The JSON API, for what the story needs set up by others (a clerk, another couple)."""

    logins: DemoLogins

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)

    def token(self, email: str, password: str) -> dict[str, str]:
        response = self.http.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def clerk(self, office_code: str = "gz-tianhe") -> dict[str, str]:
        email = f"clerk.{office_code}@demo.invalid"
        return self.token(email, self.logins.known[email])

    def couple(self, email: str) -> dict[str, str]:
        self.http.post("/api/v1/auth/register", json={"email": email, "password": "password-123", "name": "另一对"})
        return self.token(email, "password-123")

    def office_id(self, code: str = "GZ-TIANHE") -> int:
        offices = self.http.get("/api/v1/offices", params={"limit": 200}).json()["data"]
        return next(o["id"] for o in offices if o["code"] == code)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, **kwargs)


@pytest.fixture(scope="session")
def api(server: str) -> Iterator[Api]:
    client = Api(server)
    yield client
    client.http.close()


# signed-in staff for the staff pages (clerk_page, english_clerk_page, admin_page)
from tests.browser.desk_fixtures import admin_page, clerk_page, english_clerk_page  # noqa: E402,F401
