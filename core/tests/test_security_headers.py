"""Security headers: Django's own middleware, plus a CSP on the admin and docs pages."""

from __future__ import annotations

import json
import re
from http import HTTPStatus

import pytest
from django.test import RequestFactory

from core.middleware import CSP_ADMIN
from core.tests.test_production_settings import GOOD, manage

INLINE_TAG = re.compile(rb"<(script|style)\b([^>]*)>", re.IGNORECASE)


def _directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return dict(
        part.strip().split(" ", 1) for part in policy.split(";") if part.strip()
    )


def _inline_tags(html: bytes) -> list[bytes]:
    """Attributes of each <style> and each <script> without a src."""
    return [
        attributes
        for tag, attributes in INLINE_TAG.findall(html)
        if tag.lower() == b"style" or b"src=" not in attributes
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api/v1/health/", "/api/v1/no-such-thing/", "/admin/login/", "/docs"]
)
def test_responses_deny_framing_sniffing_and_cross_site_referrers(client, path):
    response = client.get(path)

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    # drf-spectacular opens Swagger UI's COOP for OAuth2 pop-ups; the rest keep Django's.
    expected_coop = "unsafe-none" if path == "/docs" else "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == expected_coop


@pytest.mark.django_db
def test_the_admin_has_a_self_only_policy(client):
    response = client.get("/admin/login/")

    directives = _directives(response)
    assert directives["default-src"] == "'self'"
    assert "script-src" not in directives  # falls back to 'self'
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert directives["form-action"] == "'self' https://accounts.google.com"
    assert _inline_tags(response.content) == []
    assert "unsafe" not in response["Content-Security-Policy"]


@pytest.mark.parametrize("path", ["/accounts/2fa/", "/accounts/reauthenticate/"])
def test_allauths_pages_on_the_admins_sign_in_have_the_admins_policy(
    client, admin_user, path
):
    client.force_login(admin_user)

    response = client.get(path)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Security-Policy"] == CSP_ADMIN
    assert _inline_tags(response.content) == []


def test_swagger_ui_inline_script_and_style_carry_the_policy_nonce(client):
    response = client.get("/docs")

    directives = _directives(response)
    [nonce] = re.findall(r"'nonce-([^']+)'", directives["script-src"])
    assert directives["style-src"] == f"'self' 'nonce-{nonce}'"
    inline = _inline_tags(response.content)
    assert len(inline) == 2  # the init script and the page style
    for attributes in inline:
        assert f'nonce="{nonce}"'.encode() in attributes
    assert "unsafe" not in response["Content-Security-Policy"]
    assert b"/api/v1/schema/" in response.content


def test_swagger_ui_nonce_is_new_on_every_request(client):
    first = _directives(client.get("/docs"))["script-src"]
    second = _directives(client.get("/docs"))["script-src"]

    assert first != second


def test_redoc_has_no_inline_script_and_allows_its_worker(client):
    response = client.get("/redoc")

    directives = _directives(response)
    assert "script-src" not in directives  # 'self' only: no inline script runs
    assert directives["worker-src"] == "'self' blob:"
    assert "'unsafe-inline'" in directives["style-src"]  # styled-components
    scripts = [a for t, a in INLINE_TAG.findall(response.content) if t == b"script"]
    assert scripts
    assert all(b"src=" in attributes for attributes in scripts)


@pytest.mark.django_db
def test_api_answers_and_the_schema_have_no_page_policy(client):
    assert "Content-Security-Policy" not in client.get("/api/v1/no-such-thing/")
    assert "Content-Security-Policy" not in client.get("/api/v1/schema/")


def test_locally_there_is_no_hsts_no_secure_cookie_and_no_trusted_proxy(client):
    from django.conf import settings

    response = client.get("/api/v1/no-such-thing/", HTTP_X_FORWARDED_PROTO="https")

    assert "Strict-Transport-Security" not in response
    assert settings.SESSION_COOKIE_SECURE is False
    assert settings.CSRF_COOKIE_SECURE is False
    assert settings.SECURE_PROXY_SSL_HEADER is None
    request = RequestFactory().get("/", HTTP_X_FORWARDED_PROTO="https")
    assert request.is_secure() is False


PRODUCTION_PROBE = """
import json
from django.conf import settings
from django.test import Client

client = Client(HTTP_HOST="gatehouse.example.com")
plain = client.get("/api/v1/no-such-thing/")
proxied = client.get("/api/v1/no-such-thing/", HTTP_X_FORWARDED_PROTO="https")
spoofed = client.get(
    "/api/v1/no-such-thing/", HTTP_X_FORWARDED_PROTOCOL="https", HTTP_X_FORWARDED_SSL="on"
)
metrics = client.get("/metrics")
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location")],
    "proxied": [proxied.status_code, proxied.get("Strict-Transport-Security")],
    "spoofed": spoofed.status_code,
    "metrics": metrics.status_code,
    "session_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "proxy_header": settings.SECURE_PROXY_SSL_HEADER,
    "log_format": settings.LOG_FORMAT,
}))
"""


def test_production_sends_hsts_uses_secure_cookies_and_trusts_the_proxy_header():
    result = manage("shell", "-c", PRODUCTION_PROBE, **GOOD)

    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["plain"] == [
        HTTPStatus.MOVED_PERMANENTLY,
        "https://gatehouse.example.com/api/v1/no-such-thing/",
    ]
    assert probe["proxied"] == [
        HTTPStatus.NOT_FOUND,
        "max-age=31536000; includeSubDomains; preload",
    ]
    assert probe["spoofed"] == HTTPStatus.MOVED_PERMANENTLY  # only X-Forwarded-Proto
    # Exempt from the HTTPS redirect for private-network scrapers; closed without a token.
    assert probe["metrics"] == HTTPStatus.FORBIDDEN
    assert probe["session_secure"] is True
    assert probe["csrf_secure"] is True
    assert probe["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert probe["log_format"] == "json"
