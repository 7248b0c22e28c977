"""Resource.data is at most 64 KB once serialised as compact JSON."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest

from resources.models import Resource

LIST = "/api/v1/resources/"
LIMIT = 64 * 1024


def data_of_size(size: int) -> dict:
    """An object whose compact UTF-8 JSON is exactly `size` bytes."""
    empty = len(json.dumps({"note": ""}, separators=(",", ":")))
    return {"note": "é" * ((size - empty) // 2) + "x" * ((size - empty) % 2)}


def test_the_helper_measures_compact_utf8():
    data = data_of_size(LIMIT)

    compact = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    assert len(compact.encode()) == LIMIT


@pytest.mark.django_db
def test_data_at_the_limit_is_stored(approved_user, auth_client):
    response = auth_client(approved_user).post(
        LIST, {"title": "T", "data": data_of_size(LIMIT)}, format="json"
    )

    assert response.status_code == HTTPStatus.CREATED


@pytest.mark.django_db
def test_data_over_the_limit_on_create_is_400_invalid(approved_user, auth_client):
    response = auth_client(approved_user).post(
        LIST, {"title": "T", "data": data_of_size(LIMIT + 1)}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.json()
    assert body["code"] == "invalid"
    assert body["errors"] == {"data": ["Must be at most 64 KB once serialised."]}
    assert not Resource.objects.exists()


@pytest.mark.django_db
def test_data_over_the_limit_on_patch_leaves_the_resource_unchanged(
    approved_user, auth_client, resource_factory
):
    resource = resource_factory(owner=approved_user, data={"kept": True})

    response = auth_client(approved_user).patch(
        f"{LIST}{resource.pk}/", {"data": data_of_size(LIMIT + 1)}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"]["data"]
    resource.refresh_from_db()
    assert resource.data == {"kept": True}
