"""In a real browser, the server's pages send no request to another host."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def elsewhere(page, live_server):
    """Every request to another host that the browser did not refuse itself.

    Playwright reports a fetch that the page's Content-Security-Policy blocks as
    a request that failed with "csp": it never left the browser.
    """
    here = urlsplit(live_server.url).netloc
    sent: list[str] = []
    blocked: list[str] = []

    def is_elsewhere(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in {"http", "https"} and parts.netloc != here

    page.on("request", lambda r: is_elsewhere(r.url) and sent.append(r.url))
    page.on(
        "requestfailed",
        lambda r: r.failure == "csp" and blocked.append(r.url),
    )

    def left_the_browser() -> list[str]:
        return [url for url in sent if url not in blocked]

    return left_the_browser


def test_redoc_sends_nothing_elsewhere(page, elsewhere):
    page.goto("/redoc")
    expect(page.locator(".api-info h1")).to_contain_text("Gatehouse API")
    page.wait_for_load_state("networkidle")

    assert elsewhere() == []


def test_swagger_ui_sends_nothing_elsewhere(page, elsewhere):
    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Gatehouse API")
    page.wait_for_load_state("networkidle")

    assert elsewhere() == []


def test_start_page_and_admin_login_send_nothing_elsewhere(page, elsewhere, settings):
    settings.GOOGLE_CLIENT_IDS = []

    for path in ("/", "/admin/login/"):
        page.goto(path)
        page.wait_for_load_state("networkidle")

    assert elsewhere() == []
