"""The Content-Security-Policy of the admin and the API docs blocks nothing they use."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"

# Runs before any page script and is not itself subject to the page's policy.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture
def watched(page):
    """The page, plus the CSP violations it and the browser console report."""
    console: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and console.append(message.text)
        ),
    )

    def violations() -> list[str]:
        return [*page.evaluate("window.__cspViolations || []"), *console]

    page.csp_violations = violations
    return page


def test_swagger_ui_renders_and_runs_under_its_policy(watched):
    response = watched.goto("/docs")

    assert "'nonce-" in response.headers["content-security-policy"]
    expect(watched.locator(".swagger-ui .info .title")).to_contain_text("Gatehouse API")
    operation = watched.locator("#operations-health-health_retrieve")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    expect(
        operation.locator(".live-responses-table tbody .response-col_status")
    ).to_have_text("200")
    assert watched.csp_violations() == []


def test_redoc_renders_and_searches_under_its_policy(watched):
    response = watched.goto("/redoc")

    assert "worker-src 'self' blob:" in response.headers["content-security-policy"]
    expect(watched.locator(".api-info h1")).to_contain_text("Gatehouse API")
    # Search runs in ReDoc's blob: web worker.
    watched.get_by_placeholder("Search...").fill("health")
    expect(watched.locator("[role=search] [role=menuitem]").first).to_be_visible()
    # The one thing blocked, on purpose: the footer's logo on Redocly's CDN.
    assert [v for v in watched.csp_violations() if REDOCLY_LOGO not in v] == []


def test_admin_pages_work_under_their_policy(watched, user_factory):
    admin = user_factory(email="ada@example.com", role="admin", full_name="Ada Admin")

    response = watched.goto("/admin/")
    watched.get_by_label("Email").fill(admin.email)
    watched.get_by_label("Password").fill(DEFAULT_PASSWORD)
    watched.get_by_role("button", name="Log in").click()
    expect(watched.locator("#site-name")).to_contain_text("Gatehouse")
    watched.goto(f"/admin/accounts/user/{admin.pk}/change/")
    expect(watched.locator("#user_form")).to_be_visible()

    assert response.headers["content-security-policy"].startswith("default-src")
    assert watched.csp_violations() == []
