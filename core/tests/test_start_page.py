"""The start page at /: what is running, where to go, and Google sign-in."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

START = reverse("start")
CLIENT_ID = "1234-web.apps.googleusercontent.com"


@pytest.fixture
def no_google(settings):
    settings.GOOGLE_CLIENT_IDS = []


@pytest.fixture
def google(settings):
    settings.GOOGLE_CLIENT_IDS = [CLIENT_ID, "ios-client-id"]


@pytest.mark.django_db
def test_start_page_names_the_project_version_database_and_storage(
    client, settings, no_google
):
    settings.VERSION = "9.8.7"

    response = client.get(START)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "<h1>Gatehouse</h1>" in html
    assert '<dd id="version">9.8.7</dd>' in html
    assert f'<dd id="database">{response.context["database"]}</dd>' in html
    assert response.context["database"] in {"SQLite", "PostgreSQL"}
    assert '<dd id="storage">local disk</dd>' in html


@pytest.mark.django_db
def test_start_page_shows_no_secrets(client, settings, no_google):
    response = client.get(START)

    html = response.content.decode()
    assert settings.SECRET_KEY not in html
    assert settings.JWT_SECRET_KEY not in html
    assert settings.DATABASES["default"]["NAME"] not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/docs", "/redoc", "/api/v1/schema/", "/admin/", "/health"]
)
def test_start_page_links_to_the_docs_admin_and_health(client, no_google, url):
    response = client.get(START)

    assert f'href="{url}"' in response.content.decode()


@pytest.mark.django_db
def test_start_page_without_google_client_id_has_no_google_script(client, no_google):
    response = client.get(START)

    html = response.content.decode()
    assert "accounts.google.com/gsi/client" not in html
    assert "g_id_onload" not in html
    assert 'id="google-disabled"' in html
    assert "start.js" not in html


@pytest.mark.django_db
def test_start_page_with_google_client_id_shows_the_google_button(client, google):
    response = client.get(START)

    html = response.content.decode()
    assert (
        '<script src="https://accounts.google.com/gsi/client" async></script>' in html
    )
    assert f'data-client_id="{CLIENT_ID}"' in html
    assert 'data-callback="gatehouseGoogleCredential"' in html
    assert 'class="g_id_signin"' in html
    assert 'data-endpoint="/api/v1/auth/google/"' in html
    assert '<script src="/static/gatehouse/start.js"></script>' in html


@pytest.mark.django_db
def test_start_page_scripts_are_files_not_inline(client, google):
    response = client.get(START)

    html = response.content.decode()
    assert html.count("<script") == html.count("<script src=") == 2


@pytest.mark.django_db
def test_start_page_with_google_lets_the_sign_in_popup_reach_back(client, google):
    response = client.get(START)

    assert response["Cross-Origin-Opener-Policy"] == "same-origin-allow-popups"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.mark.django_db
def test_start_page_without_google_keeps_the_strict_headers(client, no_google):
    response = client.get(START)

    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Referrer-Policy"] == "same-origin"


def test_start_page_script_is_a_static_file():
    from django.contrib.staticfiles import finders

    assert finders.find("gatehouse/start.js")
    assert finders.find("gatehouse/gatehouse.css")


@pytest.mark.django_db
def test_start_page_lists_the_sign_in_methods_as_configured(client, settings, google):
    settings.EXTERNAL_JWT_ISSUERS = [
        {
            "issuer": "https://tenant.example.auth0.com/",
            "jwks_url": "https://x/",
            "audience": ["api"],
        }
    ]

    html = client.get(START).content.decode()

    assert (
        '<dd id="sign-in-methods">password, emailed code, Google, '
        "tokens from https://tenant.example.auth0.com/</dd>"
    ) in html


@pytest.mark.django_db
def test_start_page_says_where_the_refresh_token_travels(client, settings, no_google):
    settings.JWT_REFRESH_COOKIE = True

    html = client.get(START).content.decode()

    assert '<dd id="refresh-token">in an HttpOnly cookie</dd>' in html
    assert "Google" not in html.split('id="sign-in-methods">')[1].split("</dd>")[0]
