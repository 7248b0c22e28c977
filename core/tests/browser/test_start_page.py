"""The start page in a real browser: offline, and with Google's script stood in for."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

from accounts import google as google_module
from accounts.errors import GoogleUnavailable
from accounts.jwks import JwksKeys
from accounts.models import AccessRequest, User
from accounts.tests.google_keys import JwksServer, SigningKey

pytestmark = pytest.mark.django_db(transaction=True)

GOOGLE = "https://accounts.google.com/"
GIS_CLIENT = f"{GOOGLE}gsi/client"
CLIENT_ID = "browser-test.apps.googleusercontent.com"


class Problems:
    """What a page reported going wrong: console errors, uncaught errors, failures."""

    def __init__(self, page, *, origin: str) -> None:
        self.origin = origin
        self.console: list[tuple[str, str]] = []
        self.uncaught: list[str] = []
        self.failed: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.uncaught.append(str(error)))
        page.on("requestfailed", lambda request: self.failed.append(request.url))
        page.on("response", self._on_response)

    def _on_response(self, response) -> None:
        if response.status >= 400:
            self.failed.append(response.url)

    def _on_console(self, message) -> None:
        if message.type == "error":
            self.console.append((message.location.get("url", ""), message.text))

    def ours(self, *, expected: tuple[str, ...] = ()) -> list:
        """All but a third-party script that could not load, and expected answers."""
        skip = (GOOGLE, *(f"{self.origin}{path}" for path in expected))
        return [
            *self.uncaught,
            *(item for item in self.console if not item[0].startswith(skip)),
            *(
                url
                for url in self.failed
                if url.startswith(self.origin) and not url.startswith(skip)
            ),
        ]


@pytest.fixture
def problems(page, live_server) -> Problems:
    return Problems(page, origin=live_server.url)


def test_start_page_without_google_renders_with_no_errors_at_all(
    page, settings, problems
):
    settings.GOOGLE_CLIENT_IDS = []
    requested = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto("/")

    expect(page.get_by_role("heading", name="Gatehouse", exact=True)).to_be_visible()
    expect(page.locator("#version")).to_have_text(settings.VERSION)
    expect(page.locator("#google-disabled")).to_contain_text("GOOGLE_CLIENT_ID")
    for name, href in [
        ("API docs (Swagger UI)", "/docs"),
        ("API reference (ReDoc)", "/redoc"),
        ("Approval console", "/admin/"),
        ("Health", "/health"),
    ]:
        expect(page.get_by_role("link", name=name)).to_have_attribute("href", href)
    assert problems.console == problems.uncaught == problems.failed == []
    assert not any(url.startswith(GOOGLE) for url in requested)


def test_start_page_renders_without_errors_while_googles_script_is_blocked(
    page, settings, problems
):
    settings.GOOGLE_CLIENT_IDS = [CLIENT_ID]
    blocked = []

    def block(route) -> None:
        blocked.append(route.request.url)
        route.abort("internetdisconnected")

    page.route(f"{GOOGLE}**", block)

    page.goto("/")

    expect(page.get_by_role("heading", name="Gatehouse", exact=True)).to_be_visible()
    expect(page.locator("#database")).not_to_be_empty()
    expect(page.locator("#google-status")).to_contain_text(
        "Google's sign-in script did not load"
    )
    expect(page.locator("#g_id_onload")).to_have_attribute("data-client_id", CLIENT_ID)
    assert page.evaluate("typeof window.gatehouseGoogleCredential") == "function"
    assert blocked == [GIS_CLIENT]
    assert problems.ours() == []
    # The one complaint left is the browser's own about the blocked script.
    assert all(url.startswith(GOOGLE) for url, _ in problems.console)


# --- The Google flow, with a stand-in for Google's script -----------------------

# Does what Google's script does for the HTML API: renders a button in
# .g_id_signin and, when pressed, calls the global named by data-callback with
# {credential}. The token itself is a real RS256 ID token signed by the test's key.
STAND_IN_GIS = """
(function () {
  const settings = document.getElementById("g_id_onload").dataset;
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Sign in with Google (stand-in)";
  button.addEventListener("click", function () {
    window[settings.callback]({ credential: %s, select_by: "btn" });
  });
  document.querySelector(".g_id_signin").append(button);
  window.google = { accounts: { id: {} } };
})();
"""


@pytest.fixture
def google_key() -> SigningKey:
    return SigningKey(kid="browser-key")


@pytest.fixture
def jwks(settings, monkeypatch, google_key):
    server = JwksServer([google_key]).start()
    settings.GOOGLE_CERTS_URL = server.url
    settings.GOOGLE_CLIENT_IDS = [CLIENT_ID]
    monkeypatch.setattr(google_module, "_keys", JwksKeys(unavailable=GoogleUnavailable))
    yield server
    server.stop()


def _id_token(key: SigningKey, *, email: str) -> str:
    now = int(time.time())
    return key.sign(
        {
            "iss": "https://accounts.google.com",
            "aud": CLIENT_ID,
            "azp": CLIENT_ID,
            "sub": "104242424242424242424",
            "email": email,
            "email_verified": True,
            "name": "Gina Google",
            "iat": now,
            "exp": now + 600,
        }
    )


def test_google_button_posts_the_id_token_and_shows_the_answer(
    page, jwks, google_key, problems
):
    token = _id_token(google_key, email="gina@gmail.com")
    page.route(
        GIS_CLIENT,
        lambda route: route.fulfill(
            content_type="text/javascript", body=STAND_IN_GIS % json.dumps(token)
        ),
    )
    page.goto("/")

    with page.expect_response("**/api/v1/auth/google/") as posted:
        page.get_by_role("button", name="Sign in with Google (stand-in)").click()

    assert posted.value.request.post_data_json == {"id_token": token}
    expect(page.locator("#google-status")).to_have_text(
        "/api/v1/auth/google/ answered 403 (approval_pending):"
    )
    answer = json.loads(page.locator("#google-answer").inner_text())
    assert answer["code"] == "approval_pending"
    user = User.objects.get(email="gina@gmail.com")
    assert user.auth_provider == User.AuthProvider.GOOGLE
    assert AccessRequest.objects.filter(
        user=user, status=AccessRequest.Status.PENDING
    ).exists()
    # The browser reports the 403 itself; that answer is the one this test wants.
    assert problems.ours(expected=("/api/v1/auth/google/",)) == []
