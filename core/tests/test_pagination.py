"""Lists read `page_size` strictly: a whole number from 1 up, capped at 100."""

from __future__ import annotations

from http import HTTPStatus

import pytest

LIST = "/api/v1/resources/"


@pytest.fixture
def owner_client(approved_user, auth_client, resource_factory):
    for number in range(3):
        resource_factory(owner=approved_user, title=f"Resource {number}")
    return auth_client(approved_user)


@pytest.mark.django_db
@pytest.mark.parametrize("page_size", ["abc", "false", "0", "-1", "2.5", "٣"])
def test_a_page_size_that_is_not_a_positive_whole_number_is_400(
    owner_client, page_size
):
    # Found by schemathesis: DRF fell back to 20 for `page_size=false`.
    response = owner_client.get(LIST, {"page_size": page_size})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid"
    assert "page_size" in response.json()["errors"]


@pytest.mark.django_db
def test_a_page_size_sets_the_page_length(owner_client):
    response = owner_client.get(LIST, {"page_size": "2"})

    assert response.status_code == HTTPStatus.OK
    assert len(response.json()["results"]) == 2


@pytest.mark.django_db
def test_a_page_size_over_the_cap_reads_as_the_cap(owner_client, approved_user):
    from resources.models import Resource

    Resource.objects.bulk_create(
        Resource(owner=approved_user, title=f"More {number}") for number in range(100)
    )

    response = owner_client.get(LIST, {"page_size": "1000"})

    assert response.status_code == HTTPStatus.OK
    assert len(response.json()["results"]) == 100


@pytest.mark.django_db
def test_an_empty_page_size_is_the_default(owner_client):
    response = owner_client.get(f"{LIST}?page_size=")

    assert response.status_code == HTTPStatus.OK
    assert len(response.json()["results"]) == 3
