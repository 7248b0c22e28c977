"""core.filters.FilterFieldsBackend: django-filter's backend, skipped only when idle."""

from http import HTTPStatus

import pytest
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from core.filters import FilterFieldsBackend
from resources.models import Resource
from resources.views import ResourceViewSet

LIST = "/api/v1/resources/"


def filtered(query: dict):
    request = Request(APIRequestFactory().get(LIST, query))
    queryset = Resource.objects.all()
    return queryset, FilterFieldsBackend().filter_queryset(
        request, queryset, ResourceViewSet()
    )


@pytest.mark.django_db
def test_without_a_filter_parameter_the_queryset_is_returned_as_it_is():
    queryset, result = filtered({"page_size": "5", "search": "x"})

    assert result is queryset


@pytest.mark.django_db
def test_a_filter_parameter_filters():
    queryset, result = filtered({"status": "archived"})

    assert result is not queryset
    assert "archived" in str(result.query)


@pytest.mark.django_db
def test_the_list_filters_by_status(approved_user, auth_client, resource_factory):
    resource_factory(owner=approved_user, title="kept", status="archived")
    resource_factory(owner=approved_user, title="left out")

    response = auth_client(approved_user).get(LIST, {"status": "archived"})

    assert [r["title"] for r in response.json()["results"]] == ["kept"]


@pytest.mark.django_db
def test_a_status_that_is_not_a_choice_is_still_400(approved_user, auth_client):
    response = auth_client(approved_user).get(LIST, {"status": "bogus"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid"
    assert "status" in response.json()["errors"]
