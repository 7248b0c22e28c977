"""GET, PUT, PATCH and reset of /api/v1/settings/: the document and who sees it."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from settings_app.models import Preferences

URL = reverse("v1:settings:preferences")
RESET_URL = reverse("v1:settings:preferences-reset")
DEFAULTS = {
    "theme": "system",
    "language": "en",
    "timezone": "UTC",
    "notifications": {"email": True, "product_updates": False},
    "items_per_page": 20,
}
DOCUMENT = {
    "theme": "dark",
    "language": "fr",
    "timezone": "Europe/Paris",
    "notifications": {"email": False, "product_updates": True},
    "items_per_page": 50,
}

pytestmark = pytest.mark.django_db


def _preferences(body: dict) -> dict:
    return {key: value for key, value in body.items() if key != "updated_at"}


def test_first_get_answers_the_defaults(approved_user, auth_client):
    response = auth_client(approved_user).get(URL)

    assert response.status_code == HTTPStatus.OK
    assert _preferences(response.json()) == DEFAULTS
    assert response.json()["updated_at"]


def test_first_get_creates_exactly_one_row(approved_user, auth_client):
    client = auth_client(approved_user)

    client.get(URL)
    client.get(URL)

    assert Preferences.objects.filter(user=approved_user).count() == 1


def test_get_answers_the_stored_preferences(approved_user, auth_client):
    Preferences.objects.create(user=approved_user, theme="light", items_per_page=5)

    response = auth_client(approved_user).get(URL)

    assert response.json()["theme"] == "light"
    assert response.json()["items_per_page"] == 5


def test_get_fills_in_notification_switches_missing_from_the_stored_object(
    approved_user, auth_client
):
    Preferences.objects.create(user=approved_user, notifications={"email": False})

    response = auth_client(approved_user).get(URL)

    assert response.json()["notifications"] == {
        "email": False,
        "product_updates": False,
    }


def test_get_costs_a_constant_number_of_queries(
    approved_user, auth_client, user_factory
):
    client = auth_client(approved_user)
    client.get(URL)
    for _ in range(5):  # other users' preferences must not cost more
        Preferences.objects.for_user(user_factory())

    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)

    assert response.status_code == HTTPStatus.OK
    assert len(queries) == 2  # the bearer token's session and user, the preferences


def test_put_replaces_the_whole_document(approved_user, auth_client):
    client = auth_client(approved_user)

    response = client.put(URL, DOCUMENT, format="json")

    assert response.status_code == HTTPStatus.OK
    assert _preferences(response.json()) == DOCUMENT
    assert _preferences(client.get(URL).json()) == DOCUMENT


def test_put_ignores_the_read_only_updated_at(approved_user, auth_client):
    body = {**DOCUMENT, "updated_at": "2000-01-01T00:00:00Z"}

    response = auth_client(approved_user).put(URL, body, format="json")

    assert response.status_code == HTTPStatus.OK
    assert not response.json()["updated_at"].startswith("2000")


def test_patch_changes_only_the_keys_given(approved_user, auth_client):
    client = auth_client(approved_user)
    client.put(URL, DOCUMENT, format="json")

    response = client.patch(URL, {"theme": "light"}, format="json")

    assert response.status_code == HTTPStatus.OK
    assert _preferences(response.json()) == {**DOCUMENT, "theme": "light"}


def test_patch_merges_a_partial_notifications_object(approved_user, auth_client):
    client = auth_client(approved_user)
    client.patch(URL, {"notifications": {"product_updates": True}}, format="json")

    response = client.patch(URL, {"notifications": {"email": False}}, format="json")

    assert response.json()["notifications"] == {
        "email": False,
        "product_updates": True,
    }


def test_patch_before_any_get_creates_the_row(approved_user, auth_client):
    response = auth_client(approved_user).patch(
        URL, {"items_per_page": 10}, format="json"
    )

    assert response.status_code == HTTPStatus.OK
    assert Preferences.objects.get(user=approved_user).items_per_page == 10


def test_empty_patch_changes_nothing(approved_user, auth_client):
    client = auth_client(approved_user)
    before = client.get(URL)

    response = client.patch(URL, {}, format="json")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == before.json()
    assert response["ETag"] == before["ETag"]


def test_reset_answers_and_stores_the_defaults(approved_user, auth_client):
    client = auth_client(approved_user)
    client.put(URL, DOCUMENT, format="json")

    response = client.post(RESET_URL)

    assert response.status_code == HTTPStatus.OK
    assert _preferences(response.json()) == DEFAULTS
    assert _preferences(client.get(URL).json()) == DEFAULTS


def test_a_user_only_sees_their_own_preferences(
    approved_user, user_factory, auth_client
):
    alice, bob = auth_client(approved_user), auth_client(user_factory())
    alice.put(URL, DOCUMENT, format="json")

    response = bob.get(URL)

    assert _preferences(response.json()) == DEFAULTS
    assert _preferences(alice.get(URL).json()) == DOCUMENT


def test_a_users_write_leaves_other_users_preferences_alone(
    approved_user, user_factory, auth_client
):
    bob = user_factory()
    Preferences.objects.for_user(bob)

    auth_client(approved_user).post(RESET_URL)
    auth_client(approved_user).patch(URL, {"theme": "dark"}, format="json")

    assert Preferences.objects.get(user=bob).theme == "system"
    assert Preferences.objects.get(user=bob).version == 1


@pytest.mark.parametrize(
    ("method", "url"),
    [("get", URL), ("put", URL), ("patch", URL), ("post", RESET_URL)],
)
def test_anonymous_caller_is_not_authenticated(api_client, method, url):
    response = getattr(api_client, method)(url, {}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "not_authenticated"
    assert not Preferences.objects.exists()


def test_path_without_trailing_slash_is_answered_the_same(approved_user, auth_client):
    response = auth_client(approved_user).patch(
        URL.rstrip("/"), {"theme": "dark"}, format="json"
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["theme"] == "dark"
