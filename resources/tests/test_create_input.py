"""A create validates with ResourceCreateSerializer and answers from the saved
values; both must be exactly ResourceSerializer's."""

from http import HTTPStatus

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from resources.models import Resource
from resources.serializers import (
    DATA_MAX_BYTES,
    ResourceCreateSerializer,
    ResourceSerializer,
)

LIST = "/api/v1/resources/"


def test_its_fields_are_the_resource_serializers_writable_fields():
    full = ResourceSerializer().fields
    writable = {name: repr(f) for name, f in full.items() if not f.read_only}

    fields = ResourceCreateSerializer().fields

    assert {name: repr(f) for name, f in fields.items()} == writable
    assert list(fields) == list(writable)  # errors come back in the same order


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": ""},
        {"title": "   "},
        {"title": 7},
        {"title": None},
        {"title": "x" * 201},
        {"title": "nul\x00"},
        {"title": "ok", "description": 3},
        {"title": "ok", "description": None},
        {"title": "ok", "data": []},
        {"title": "ok", "data": "text"},
        {"title": "ok", "data": {"big": "x" * DATA_MAX_BYTES}},
        {"title": "", "description": 1, "data": 2},
        [],
        "text",
    ],
)
def test_it_refuses_what_the_resource_serializer_refuses(body):
    create = ResourceCreateSerializer(data=body)
    full = ResourceSerializer(data=body)

    assert not create.is_valid()
    assert not full.is_valid()
    assert create.errors == full.errors


def test_it_keeps_what_the_resource_serializer_keeps():
    body = {
        "title": "  Plan  ",
        "description": "",
        "data": {"k": [1, "é"]},
        "owner": "someone",
        "status": "archived",
        "id": "x",
    }
    create, full = ResourceCreateSerializer(data=body), ResourceSerializer(data=body)

    assert create.is_valid()
    assert full.is_valid()
    assert dict(create.validated_data) == dict(full.validated_data)


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
def test_the_create_answer_is_the_resource_serializers_json(
    approved_user, auth_client, zone
):
    client = auth_client(approved_user)

    with timezone.override(zone):
        response = client.post(
            LIST,
            {"title": "Plan", "description": "d\u2028", "data": {"k": [1, "é"]}},
            format="json",
        )
        resource = Resource.objects.select_related("owner").get(
            pk=response.json()["id"]
        )
        expected = JSONRenderer().render(
            ResourceSerializer(
                resource, context={"request": response.wsgi_request}
            ).data
        )

    assert response.status_code == HTTPStatus.CREATED
    assert response.content == expected
