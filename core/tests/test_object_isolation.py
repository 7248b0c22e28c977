"""A second user never reaches the first one's objects, on any operation with a key.

The operations are read from the published schema, so a new endpoint with a path
parameter is covered as soon as it exists (or fails here until it names its object).
"""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group

from accounts import groups as group_services
from accounts import services as account_services
from accounts.models import AccessRequest, AuthSession, User
from resources import services as resource_services
from resources.models import Resource, ResourceFile
from resources.tests.files import png_bytes, upload

# A share link's token is a capability: whoever holds it may read the resource.
PUBLIC_BY_DESIGN = {"/api/v1/public/resources/{token}/"}
WRITES = {"post", "put", "patch", "delete"}


def _keyed_operations() -> list[tuple[str, str, dict]]:
    from django.test import Client

    schema = Client().get("/api/v1/schema/?format=json").json()
    return [
        (method, path, operation)
        for path, operations in schema["paths"].items()
        if "{" in path and path not in PUBLIC_BY_DESIGN
        for method, operation in operations.items()
    ]


@pytest.fixture
def keyed_operations(db) -> list[tuple[str, str, dict]]:
    return _keyed_operations()


@pytest.fixture
def alice_objects(user_factory, auth_client) -> dict:
    """Everything of Alice's that a path parameter can name."""
    alice = user_factory(full_name="Alice")
    client = auth_client(alice)  # a live session of hers
    resource = resource_services.resource_create(owner=alice, title="Alice's")
    resource_file = resource_services.resource_file_add(
        resource=resource, upload=upload("a.png", png_bytes(), "image/png")
    )
    resource_services.resource_share(resource=resource, actor=alice)
    applicant = user_factory(status=User.Status.PENDING)
    access_request = account_services.access_request_open(user=applicant, reason="")
    group = group_services.group_create(name="Alice's team", actor=None)
    group_services.user_set_groups(user=alice, groups=[group], actor=None)
    return {
        "alice": alice,
        "client": client,
        "resource": resource,
        "file": resource_file,
        "session": AuthSession.objects.live().get(user=alice),
        "access_request": access_request,
        "group": group,
    }


def _path_for(path: str, objects: dict) -> str:
    """The path with Alice's objects for its keys, by the collection they belong to."""
    ids = {
        "/api/v1/resources/{id}/files/{file_id}/": {
            "id": objects["resource"].pk,
            "file_id": objects["file"].pk,
        },
        "/api/v1/resources/{id}/": {"id": objects["resource"].pk},
        "/api/v1/auth/sessions/{id}/": {"id": objects["session"].pk},
        "/api/v1/admin/users/{id}/": {"id": objects["alice"].pk},
        "/api/v1/admin/access-requests/{id}/": {"id": objects["access_request"].pk},
        "/api/v1/admin/groups/{id}/": {"id": objects["group"].pk},
    }
    for template, values in ids.items():
        if path.startswith(template):
            filled = path.format(**values)
            assert "{" not in filled, filled
            return filled
    raise AssertionError(f"{path}: name one of Alice's objects for it in _path_for()")


def _send(client, method: str, path: str, operation: dict):
    content = operation.get("requestBody", {}).get("content", {})
    if "multipart/form-data" in content:
        assert method == "post", path
        body = {"file": upload("b.png", png_bytes(), "image/png")}
        return client.post(path, body, format="multipart")
    body = {
        "title": "Bob's now",
        "full_name": "Bob's now",
        "role": "admin",
        "name": "Bob's now",
        "groups": [],
    }
    return getattr(client, method)(
        path, body if method in WRITES else None, format="json"
    )


def _bob_tries_everything(keyed_operations, objects, bob) -> dict[str, int]:
    return {
        f"{method.upper()} {path}": _send(
            bob, method, _path_for(path, objects), operation
        ).status_code
        for method, path, operation in keyed_operations
    }


@pytest.mark.django_db
def test_the_schema_has_keyed_operations_to_check(keyed_operations):
    # A guard: if the schema stopped listing them, the test below would check nothing.
    assert len(keyed_operations) >= 15


@pytest.mark.django_db
def test_a_second_user_gets_404_or_403_for_every_keyed_operation(
    keyed_operations, alice_objects, user_factory, auth_client
):
    bob = auth_client(user_factory(full_name="Bob"))

    answers = _bob_tries_everything(keyed_operations, alice_objects, bob)

    # The contract: another user's object is 404; an admin-only operation is 403.
    expected = {
        key: HTTPStatus.FORBIDDEN if "/api/v1/admin/" in key else HTTPStatus.NOT_FOUND
        for key in answers
    }
    assert answers == expected


@pytest.mark.django_db
def test_alice_objects_are_untouched_after_the_second_user_tried_them(
    keyed_operations, alice_objects, user_factory, auth_client
):
    bob = auth_client(user_factory(full_name="Bob"))

    _bob_tries_everything(keyed_operations, alice_objects, bob)

    resource = Resource.objects.get(pk=alice_objects["resource"].pk)
    assert resource.title == "Alice's"
    assert resource.status == Resource.Status.ACTIVE
    assert resource.share_token == alice_objects["resource"].share_token
    assert list(ResourceFile.objects.filter(resource=resource)) == [
        alice_objects["file"]
    ]
    group = Group.objects.get(pk=alice_objects["group"].pk)
    assert group.name == "Alice's team"
    assert list(group.user_set.all()) == [alice_objects["alice"]]
    assert AuthSession.objects.live().filter(pk=alice_objects["session"].pk).exists()
    alice = User.objects.get(pk=alice_objects["alice"].pk)
    assert (alice.full_name, alice.role) == ("Alice", User.Role.USER)
    access_request = AccessRequest.objects.get(pk=alice_objects["access_request"].pk)
    assert access_request.status == AccessRequest.Status.PENDING
    assert alice_objects["client"].get("/api/v1/auth/me/").status_code == HTTPStatus.OK
