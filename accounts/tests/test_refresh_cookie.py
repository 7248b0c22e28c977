"""JWT_REFRESH_COOKIE: the refresh token in an HttpOnly cookie instead of the body."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from http import HTTPStatus

import pytest
from allauth.socialaccount.models import SocialAccount
from django.conf import settings as django_settings
from django.test import override_settings
from django.test.utils import override_script_prefix
from rest_framework.test import APIClient

from accounts import google as google_module
from accounts.errors import GoogleUnavailable
from accounts.jwks import JwksKeys
from accounts.models import AuthSession
from accounts.refresh_cookie import REFRESH_COOKIE_NAME
from accounts.tests.google_keys import JwksServer, SigningKey
from conftest import DEFAULT_PASSWORD
from core.tests.served_app import BASE_DIR, clean_env

AUTH = "/api/v1/auth/"
LOGIN, REFRESH, LOGOUT = f"{AUTH}login/", f"{AUTH}refresh/", f"{AUTH}logout/"
ME = f"{AUTH}me/"
FROM_SCRIPT = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}
FRONTEND = "http://localhost:5173"
GOOGLE_CLIENT_ID = "web-client.apps.googleusercontent.com"
LIFETIME = django_settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]


@pytest.fixture(autouse=True)
def cookie_mode(settings):
    settings.JWT_REFRESH_COOKIE = True
    settings.CORS_ALLOW_CREDENTIALS = True


@pytest.fixture
def browser(approved_user):
    """A client signed in by password; it keeps cookies and, as a browser, gets
    Django's CSRF checks (the test client skips them by default)."""
    api_client = APIClient(enforce_csrf_checks=True)
    response = api_client.post(
        LOGIN, {"email": approved_user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == HTTPStatus.OK, response.content
    api_client.sign_in_response = response
    return api_client


def refresh_cookie(response):
    return response.cookies[REFRESH_COOKIE_NAME]


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


# --- Sign-in answers -------------------------------------------------------------


def test_login_sets_an_httponly_secure_lax_cookie_on_the_auth_path(browser):
    cookie = refresh_cookie(browser.sign_in_response)

    assert cookie.value
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == AUTH
    assert LIFETIME.total_seconds() - 5 <= int(cookie["max-age"])
    assert int(cookie["max-age"]) <= LIFETIME.total_seconds()


def test_login_body_has_the_access_token_and_no_refresh(browser):
    body = browser.sign_in_response.json()

    assert set(body) == {"access", "user"}
    assert bearer(body["access"]).get(ME).status_code == HTTPStatus.OK


def test_cookie_is_not_secure_with_debug(settings, api_client, approved_user):
    settings.DEBUG = True

    response = api_client.post(
        LOGIN, {"email": approved_user.email, "password": DEFAULT_PASSWORD}
    )

    assert refresh_cookie(response)["secure"] == ""


def test_cookie_path_carries_the_url_prefix(settings, api_client, approved_user):
    settings.FORCE_SCRIPT_NAME = "/gatehouse"

    with override_script_prefix("/gatehouse/"):
        response = api_client.post(
            LOGIN, {"email": approved_user.email, "password": DEFAULT_PASSWORD}
        )

    assert refresh_cookie(response)["path"] == "/gatehouse/api/v1/auth/"


def test_google_sign_in_sets_the_cookie_and_leaves_refresh_out(
    settings, monkeypatch, api_client, user_factory
):
    key = SigningKey(kid="cookie-test")
    server = JwksServer([key]).start()
    try:
        settings.GOOGLE_CERTS_URL = server.url
        settings.GOOGLE_CLIENT_IDS = [GOOGLE_CLIENT_ID]
        monkeypatch.setattr(
            google_module, "_keys", JwksKeys(unavailable=GoogleUnavailable)
        )
        user = user_factory(email="gina@gmail.com", password=None)
        SocialAccount.objects.create(user=user, provider="google", uid="1101")
        now = int(time.time())
        token = key.sign(
            {
                "iss": "https://accounts.google.com",
                "aud": GOOGLE_CLIENT_ID,
                "sub": "1101",
                "email": user.email,
                "email_verified": True,
                "iat": now,
                "exp": now + 600,
            }
        )

        response = api_client.post(f"{AUTH}google/", {"id_token": token})
    finally:
        server.stop()

    assert response.status_code == HTTPStatus.OK, response.content
    assert "refresh" not in response.json()
    assert refresh_cookie(response)["httponly"] is True


# --- refresh/ --------------------------------------------------------------------


def test_refresh_from_the_cookie_with_the_header_rotates_the_cookie(browser):
    old = browser.cookies[REFRESH_COOKIE_NAME].value

    response = browser.post(REFRESH, {}, **FROM_SCRIPT)

    assert response.status_code == HTTPStatus.OK, response.content
    assert set(response.json()) == {"access"}
    new = refresh_cookie(response)
    assert new.value not in {"", old}
    assert new["httponly"] is True
    assert new["path"] == AUTH
    assert bearer(response.json()["access"]).get(ME).status_code == HTTPStatus.OK


def test_refresh_with_a_csrf_token_instead_of_the_header_works(browser):
    browser.get("/accounts/login/")  # the server's own page sets the CSRF cookie
    token = browser.cookies[django_settings.CSRF_COOKIE_NAME].value

    response = browser.post(REFRESH, {}, HTTP_X_CSRFTOKEN=token)

    assert response.status_code == HTTPStatus.OK, response.content


def test_refresh_from_the_cookie_without_the_header_is_refused(browser):
    response = browser.post(REFRESH, {})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "csrf_failed"
    assert REFRESH_COOKIE_NAME not in response.cookies


def test_refresh_with_a_wrong_csrf_token_is_refused(browser):
    browser.get("/accounts/login/")

    response = browser.post(REFRESH, {}, HTTP_X_CSRFTOKEN="x" * 32)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "csrf_failed"


def test_refresh_token_in_the_body_is_still_accepted(api_client, approved_user):
    with override_settings(JWT_REFRESH_COOKIE=False):
        pair = api_client.post(
            LOGIN, {"email": approved_user.email, "password": DEFAULT_PASSWORD}
        ).json()
    fresh = APIClient()

    response = fresh.post(REFRESH, {"refresh": pair["refresh"]})

    assert response.status_code == HTTPStatus.OK, response.content
    assert set(response.json()) == {"access"}
    assert refresh_cookie(response).value


def test_a_rotated_cookie_is_refused(browser):
    old = browser.cookies[REFRESH_COOKIE_NAME].value
    assert browser.post(REFRESH, {}, **FROM_SCRIPT).status_code == HTTPStatus.OK

    browser.cookies[REFRESH_COOKIE_NAME] = old
    response = browser.post(REFRESH, {}, **FROM_SCRIPT)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "token_not_valid"


def test_a_refused_refresh_leaves_the_newer_cookie_alone(browser):
    # Two tabs racing: the loser's answer must not wipe the winner's new cookie.
    old = browser.cookies[REFRESH_COOKIE_NAME].value
    browser.post(REFRESH, {}, **FROM_SCRIPT)
    browser.cookies[REFRESH_COOKIE_NAME] = old

    response = browser.post(REFRESH, {}, **FROM_SCRIPT)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert REFRESH_COOKIE_NAME not in response.cookies


def test_refresh_with_neither_body_nor_cookie_is_invalid(api_client):
    response = api_client.post(REFRESH, {}, **FROM_SCRIPT)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"] == {"refresh": ["This field is required."]}


# --- logout/ and logout-all/ -------------------------------------------------------


def test_logout_from_the_cookie_ends_the_session_and_clears_the_cookie(
    browser, approved_user
):
    access = browser.sign_in_response.json()["access"]

    response = browser.post(LOGOUT, {}, **FROM_SCRIPT)

    assert response.status_code == HTTPStatus.NO_CONTENT
    cleared = refresh_cookie(response)
    assert cleared.value == ""
    assert cleared["max-age"] == 0
    assert cleared["path"] == AUTH
    assert not AuthSession.objects.live().filter(user=approved_user).exists()
    assert bearer(access).get(ME).status_code == HTTPStatus.UNAUTHORIZED


def test_logout_from_the_cookie_without_the_header_is_refused(browser, approved_user):
    response = browser.post(LOGOUT, {})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "csrf_failed"
    assert REFRESH_COOKIE_NAME not in response.cookies
    assert AuthSession.objects.live().filter(user=approved_user).exists()


def test_logout_with_a_cookie_that_is_no_token_still_clears_it(browser):
    browser.cookies[REFRESH_COOKIE_NAME] = "not-a-token"

    response = browser.post(LOGOUT, {}, **FROM_SCRIPT)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert refresh_cookie(response)["max-age"] == 0


def test_logout_all_clears_the_cookie(browser):
    access = browser.sign_in_response.json()["access"]

    response = browser.post(f"{AUTH}logout-all/", HTTP_AUTHORIZATION=f"Bearer {access}")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert refresh_cookie(response)["max-age"] == 0


# --- Cookie mode off ---------------------------------------------------------------


def test_without_cookie_mode_tokens_stay_in_the_body_and_no_cookie_is_set(
    settings, api_client, approved_user
):
    settings.JWT_REFRESH_COOKIE = False

    response = api_client.post(
        LOGIN, {"email": approved_user.email, "password": DEFAULT_PASSWORD}
    )

    assert set(response.json()) == {"access", "refresh", "user"}
    assert REFRESH_COOKIE_NAME not in response.cookies


def test_without_cookie_mode_a_cookie_is_not_read(settings, browser):
    settings.JWT_REFRESH_COOKIE = False

    response = browser.post(REFRESH, {}, **FROM_SCRIPT)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid"


# --- CORS ------------------------------------------------------------------------


def _preflight(client: APIClient, origin: str):
    return client.options(
        REFRESH,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-requested-with",
    )


def test_preflight_from_a_listed_origin_allows_credentials(settings, api_client):
    settings.CORS_ALLOWED_ORIGINS = [FRONTEND]

    response = _preflight(api_client, FRONTEND)

    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "x-requested-with" in response.headers["Access-Control-Allow-Headers"]


def test_preflight_from_another_origin_gets_no_cors_headers(settings, api_client):
    settings.CORS_ALLOWED_ORIGINS = [FRONTEND]

    response = _preflight(api_client, "https://evil.example")

    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_refresh_answer_to_a_listed_origin_allows_credentials(settings, browser):
    settings.CORS_ALLOWED_ORIGINS = [FRONTEND]

    response = browser.post(REFRESH, {}, HTTP_ORIGIN=FRONTEND, **FROM_SCRIPT)

    assert response.status_code == HTTPStatus.OK
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


# --- Settings, as a fresh process reads them ---------------------------------------


def _settings_of(tmp_path, **env: str) -> subprocess.CompletedProcess:
    show = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.JWT_REFRESH_COOKIE, s.CORS_ALLOW_CREDENTIALS]))"
    )
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", show],
        cwd=BASE_DIR,
        env=clean_env(tmp_path / "unused.sqlite3", **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(("raw", "on"), [(None, False), ("true", True)])
def test_cors_credentials_are_on_exactly_in_cookie_mode(tmp_path, raw, on):
    result = _settings_of(tmp_path, **({"JWT_REFRESH_COOKIE": raw} if raw else {}))

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [on, on]


def test_cookie_mode_refuses_a_wildcard_cors_origin(tmp_path):
    result = _settings_of(tmp_path, JWT_REFRESH_COOKIE="true", CORS_ORIGINS="*")

    assert result.returncode != 0
    assert "CORS_ORIGINS must list each frontend's origin" in result.stderr
