"""/schema renders the API's operations offline: every request it makes stays on the service
(registries' government networks have no internet; issue 13)."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Browser, Route

from tests.browser.conftest import SCREENSHOTS


def test_the_docs_page_renders_the_operations_with_no_request_leaving_the_service(browser: Browser, server: str):
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900}, locale="en-US")
    here = urlsplit(server).netloc
    outside: list[str] = []

    def guard(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == here or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:  # what a network without internet would do
            outside.append(url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto("/schema")
    # Scalar lists the operations by their summaries (the first tag open), the tags in the sidebar
    page.get_by_text("Liveness: the process answers").first.wait_for(timeout=30_000)
    page.get_by_text("cross-province applications").first.wait_for(timeout=10_000)
    page.get_by_text("Marriage registration booking API").first.wait_for(timeout=10_000)
    page.wait_for_load_state("networkidle")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "en-schema-1280.png"))
    context.close()
    assert not outside, f"requests leaving the service: {outside}"
    assert not failed, f"failed requests: {failed}"
