"""ETag and If-Match: a write based on a stale read answers 412 instead of landing."""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus

import pytest
from django.urls import reverse

from settings_app.models import Preferences

URL = reverse("v1:settings:preferences")
RESET_URL = reverse("v1:settings:preferences-reset")
DOCUMENT = {
    "theme": "dark",
    "language": "de",
    "timezone": "Europe/Berlin",
    "notifications": {"email": True, "product_updates": True},
    "items_per_page": 30,
}

pytestmark = pytest.mark.django_db


def _write(client, method: str, etag: str | None = None):
    body = DOCUMENT if method == "put" else {"theme": "light"}
    headers = {"If-Match": etag} if etag is not None else {}
    return getattr(client, method)(URL, body, format="json", headers=headers)


def test_get_answers_a_strong_etag(approved_user, auth_client):
    response = auth_client(approved_user).get(URL)

    etag = response["ETag"]
    assert etag.startswith('"')
    assert etag.endswith('"')


def test_get_answers_the_same_etag_until_a_write(approved_user, auth_client):
    client = auth_client(approved_user)

    first, second = client.get(URL), client.get(URL)

    assert first["ETag"] == second["ETag"]


@pytest.mark.parametrize("method", ["put", "patch"])
def test_write_answers_a_new_etag_that_get_then_answers(
    approved_user, auth_client, method
):
    client = auth_client(approved_user)
    before = client.get(URL)["ETag"]

    response = _write(client, method)

    assert response["ETag"] != before
    assert client.get(URL)["ETag"] == response["ETag"]


def test_reset_answers_a_new_etag(approved_user, auth_client):
    client = auth_client(approved_user)
    before = client.get(URL)["ETag"]

    response = client.post(RESET_URL)

    assert response.status_code == HTTPStatus.OK
    assert response["ETag"] != before
    assert client.get(URL)["ETag"] == response["ETag"]


def test_reset_does_not_bring_back_an_old_etag(approved_user, auth_client):
    client = auth_client(approved_user)
    first = client.get(URL)["ETag"]
    client.patch(URL, {"theme": "dark"}, format="json")

    response = client.post(RESET_URL)

    assert response["ETag"] != first


@pytest.mark.parametrize("method", ["put", "patch"])
def test_matching_if_match_applies_the_write(approved_user, auth_client, method):
    client = auth_client(approved_user)
    etag = client.get(URL)["ETag"]

    response = _write(client, method, etag)

    assert response.status_code == HTTPStatus.OK
    assert client.get(URL).json()["theme"] != "system"


@pytest.mark.parametrize("method", ["put", "patch"])
def test_stale_if_match_answers_412_and_changes_nothing(
    approved_user, auth_client, method
):
    client = auth_client(approved_user)
    stale = client.get(URL)["ETag"]
    client.patch(URL, {"items_per_page": 99}, format="json")
    current = client.get(URL)

    response = _write(client, method, stale)

    assert response.status_code == HTTPStatus.PRECONDITION_FAILED
    assert response.json() == {
        "detail": response.json()["detail"],
        "code": "precondition_failed",
    }
    assert response.json()["detail"]
    after = client.get(URL)
    assert after.json() == current.json()
    assert after["ETag"] == current["ETag"]


@pytest.mark.parametrize("method", ["put", "patch"])
def test_if_match_star_applies_the_write(approved_user, auth_client, method):
    client = auth_client(approved_user)

    response = _write(client, method, "*")

    assert response.status_code == HTTPStatus.OK


def test_if_match_with_several_tags_applies_when_one_is_current(
    approved_user, auth_client
):
    client = auth_client(approved_user)
    etag = client.get(URL)["ETag"]

    response = _write(client, "patch", f'"999", {etag}')

    assert response.status_code == HTTPStatus.OK


@pytest.mark.parametrize("tag", ["W/{etag}", "{bare}", "", "not a tag"])
def test_if_match_that_is_weak_or_malformed_never_matches(
    approved_user, auth_client, tag
):
    client = auth_client(approved_user)
    etag = client.get(URL)["ETag"]

    response = _write(client, "patch", tag.format(etag=etag, bare=etag.strip('"')))

    assert response.status_code == HTTPStatus.PRECONDITION_FAILED


def test_stale_if_match_on_the_first_write_leaves_no_row(approved_user, auth_client):
    response = _write(auth_client(approved_user), "patch", '"999"')

    assert response.status_code == HTTPStatus.PRECONDITION_FAILED
    assert not Preferences.objects.filter(user=approved_user).exists()


@pytest.mark.parametrize("method", ["put", "patch"])
def test_write_without_if_match_applies(approved_user, auth_client, method):
    client = auth_client(approved_user)
    client.patch(URL, {"items_per_page": 99}, format="json")

    response = _write(client, method)

    assert response.status_code == HTTPStatus.OK


@pytest.mark.parametrize("method", ["put", "patch", "reset"])
def test_every_write_moves_updated_at(approved_user, auth_client, method):
    client = auth_client(approved_user)
    client.get(URL)
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    Preferences.objects.filter(user=approved_user).update(updated_at=long_ago)

    response = client.post(RESET_URL) if method == "reset" else _write(client, method)

    stored = Preferences.objects.get(user=approved_user).updated_at
    assert stored > long_ago
    assert response.json()["updated_at"].replace("Z", "+00:00") == stored.isoformat()
