"""The Django admin's "Sign in with Google", and allauth's web login refusing
accounts that are not approved."""

from __future__ import annotations

from html.parser import HTMLParser
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from accounts.models import User

ADMIN_LOGIN = "/admin/login/"
ALLAUTH_LOGIN = "/accounts/login/"
PASSWORD = "correct-horse-battery-staple"  # conftest's DEFAULT_PASSWORD
GOOGLE_FORM = "google-login-form"


class _GoogleFormParser(HTMLParser):
    """Finds the Google sign-in form: its method, action and CSRF token."""

    def __init__(self) -> None:
        super().__init__()
        self.form: dict[str, str] | None = None
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "form" and attr.get("id") == GOOGLE_FORM:
            self.form = {"method": attr.get("method", ""), "action": attr["action"]}
            self._inside = True
        elif self._inside and attr.get("name") == "csrfmiddlewaretoken":
            assert self.form is not None
            self.form["csrfmiddlewaretoken"] = attr.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False


def _google_form(response) -> dict[str, str] | None:
    parser = _GoogleFormParser()
    parser.feed(response.content.decode())
    return parser.form


@pytest.fixture
def google_configured(settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {
            "APPS": [{"client_id": "web-client-id", "secret": "s3cret"}],
            "SCOPE": ["openid", "email", "profile"],
        }
    }


@pytest.fixture
def google_not_configured(settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {"APPS": [], "SCOPE": ["openid", "email", "profile"]}
    }


@pytest.mark.django_db
@pytest.mark.usefixtures("google_configured")
def test_admin_login_offers_google_when_a_google_app_is_configured(client):
    response = client.get(ADMIN_LOGIN)

    assert response.status_code == HTTPStatus.OK
    form = _google_form(response)
    assert form is not None
    assert b"Sign in with Google" in response.content


@pytest.mark.django_db
@pytest.mark.usefixtures("google_not_configured")
def test_admin_login_offers_no_google_without_a_google_app(client):
    response = client.get(ADMIN_LOGIN)

    assert response.status_code == HTTPStatus.OK
    assert _google_form(response) is None
    assert b"Sign in with Google" not in response.content


@pytest.mark.django_db
@pytest.mark.usefixtures("google_not_configured")
def test_admin_login_keeps_the_password_form_without_a_google_app(client):
    response = client.get(ADMIN_LOGIN)

    assert b'id="login-form"' in response.content


@pytest.mark.django_db
@pytest.mark.usefixtures("google_configured")
def test_google_button_posts_to_allauth_google_login_with_a_csrf_token(client):
    response = client.get(ADMIN_LOGIN)

    form = _google_form(response)
    assert form["method"].lower() == "post"
    assert urlsplit(form["action"]).path == "/accounts/google/login/"
    assert form["csrfmiddlewaretoken"]


@pytest.mark.django_db
@pytest.mark.usefixtures("google_configured")
def test_google_button_redirects_to_google_with_the_web_client_id():
    browser = Client(enforce_csrf_checks=True)
    form = _google_form(browser.get(ADMIN_LOGIN))

    response = browser.post(
        form["action"], {"csrfmiddlewaretoken": form["csrfmiddlewaretoken"]}
    )

    assert response.status_code == HTTPStatus.FOUND
    location = urlsplit(response["Location"])
    assert (location.scheme, location.netloc) == ("https", "accounts.google.com")
    assert location.path == "/o/oauth2/v2/auth"
    query = parse_qs(location.query)
    assert query["client_id"] == ["web-client-id"]
    assert query["redirect_uri"][0].endswith("/accounts/google/login/callback/")


@pytest.mark.django_db
@pytest.mark.usefixtures("google_configured")
def test_google_button_returns_to_the_admin_page_asked_for(client):
    response = client.get(ADMIN_LOGIN, {"next": "/admin/accounts/user/"})

    action = urlsplit(_google_form(response)["action"])
    assert parse_qs(action.query)["next"] == ["/admin/accounts/user/"]


@pytest.mark.django_db
@pytest.mark.usefixtures("google_configured")
def test_google_button_returns_to_the_admin_index_by_default(client):
    response = client.get(ADMIN_LOGIN)

    action = urlsplit(_google_form(response)["action"])
    assert parse_qs(action.query)["next"] == ["/admin/"]


@pytest.mark.django_db
@pytest.mark.usefixtures("google_configured")
def test_google_login_is_not_started_by_a_get(client):
    response = client.get("/accounts/google/login/", {"process": "login"})

    assert response.status_code == HTTPStatus.OK
    assert "accounts.google.com" not in response.get("Location", "")


@pytest.mark.parametrize("status", [User.Status.PENDING, User.Status.REJECTED], ids=str)
def test_allauth_login_refuses_a_user_who_is_not_approved(client, user_factory, status):
    user = user_factory(status=status, role=User.Role.ADMIN)

    response = client.post(ALLAUTH_LOGIN, {"login": user.email, "password": PASSWORD})

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == ALLAUTH_LOGIN
    assert "_auth_user_id" not in client.session


def test_allauth_login_refusal_opens_no_admin(client, pending_user):
    client.post(ALLAUTH_LOGIN, {"login": pending_user.email, "password": PASSWORD})

    response = client.get("/admin/")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(ADMIN_LOGIN)


def test_allauth_login_signs_in_an_approved_admin(client, admin_user):
    response = client.post(
        ALLAUTH_LOGIN, {"login": admin_user.email, "password": PASSWORD}
    )

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/admin/"
    assert client.session["_auth_user_id"] == str(admin_user.pk)


def test_approved_admin_signed_in_through_allauth_opens_the_admin(client, admin_user):
    client.post(ALLAUTH_LOGIN, {"login": admin_user.email, "password": PASSWORD})

    response = client.get("/admin/")

    assert response.status_code == HTTPStatus.OK
