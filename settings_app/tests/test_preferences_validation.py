"""PUT and PATCH validate every preference and reject what the document lacks or adds."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from settings_app.models import Preferences

URL = reverse("v1:settings:preferences")
DOCUMENT = {
    "theme": "dark",
    "language": "fr",
    "timezone": "Europe/Paris",
    "notifications": {"email": False, "product_updates": True},
    "items_per_page": 50,
}

pytestmark = pytest.mark.django_db


def _assert_invalid(response, *fields: str) -> None:
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert body["detail"]
    assert set(body["errors"]) == set(fields)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("theme", "blue"),
        ("theme", ""),
        ("theme", None),
        ("language", "xx"),
        ("language", "EN"),
        ("timezone", "Mars/Olympus_Mons"),
        ("timezone", "localtime"),
        ("timezone", ""),
        ("timezone", 5),
        ("items_per_page", 0),
        ("items_per_page", 101),
        ("items_per_page", -1),
        ("items_per_page", "many"),
        ("items_per_page", None),
        ("notifications", None),
        ("notifications", []),
        ("notifications", "email"),
        ("notifications", {"email": "yes"}),
        ("notifications", {"email": 1}),
        ("notifications", {"email": None}),
        ("notifications", {"digest": True}),
    ],
)
@pytest.mark.parametrize("method", ["put", "patch"])
def test_invalid_value_is_refused_and_names_its_field(
    approved_user, auth_client, method, field, value
):
    client = auth_client(approved_user)
    before = client.get(URL).json()

    response = getattr(client, method)(URL, {**DOCUMENT, field: value}, format="json")

    _assert_invalid(response, field)
    assert client.get(URL).json() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("items_per_page", 1),
        ("items_per_page", 100),
        ("timezone", "America/Argentina/Buenos_Aires"),
        ("timezone", "UTC"),
        ("language", "pt-br"),
        ("theme", "system"),
    ],
)
def test_edge_of_each_valid_range_is_accepted(approved_user, auth_client, field, value):
    response = auth_client(approved_user).patch(URL, {field: value}, format="json")

    assert response.status_code == HTTPStatus.OK
    assert response.json()[field] == value


@pytest.mark.parametrize("method", ["put", "patch"])
def test_unknown_key_is_refused_and_named(approved_user, auth_client, method):
    client = auth_client(approved_user)

    response = getattr(client, method)(
        URL, {**DOCUMENT, "colour": "teal", "version": 9}, format="json"
    )

    _assert_invalid(response, "colour", "version")
    assert client.get(URL).json()["theme"] == "system"


@pytest.mark.parametrize("method", ["put", "patch"])
def test_unknown_notification_switch_is_named_in_the_error(
    approved_user, auth_client, method
):
    body = {**DOCUMENT, "notifications": {"email": True, "digest": True}}

    response = getattr(auth_client(approved_user), method)(URL, body, format="json")

    _assert_invalid(response, "notifications")
    assert "'digest'" in response.json()["errors"]["notifications"][0]


@pytest.mark.parametrize("missing", Preferences.FIELDS)
def test_put_without_a_preference_is_refused_and_names_it(
    approved_user, auth_client, missing
):
    body = {key: value for key, value in DOCUMENT.items() if key != missing}

    response = auth_client(approved_user).put(URL, body, format="json")

    _assert_invalid(response, missing)


def test_put_with_a_partial_notifications_object_is_refused(approved_user, auth_client):
    body = {**DOCUMENT, "notifications": {"email": False}}

    response = auth_client(approved_user).put(URL, body, format="json")

    _assert_invalid(response, "notifications")
    assert "'product_updates'" in response.json()["errors"]["notifications"][0]


@pytest.mark.parametrize("method", ["put", "patch"])
def test_body_that_is_not_an_object_is_refused(approved_user, auth_client, method):
    response = getattr(auth_client(approved_user), method)(
        URL, ["theme", "dark"], format="json"
    )

    _assert_invalid(response, "non_field_errors")


@pytest.mark.django_db
def test_patch_with_a_multipart_body_is_415(approved_user, auth_client):
    # Found by schemathesis: only JSON is documented here, and only JSON is read.
    response = auth_client(approved_user).patch(
        URL, {"theme": "dark"}, format="multipart"
    )

    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert response.json()["code"] == "unsupported_media_type"
    assert Preferences.objects.for_user(approved_user).theme != "dark"
