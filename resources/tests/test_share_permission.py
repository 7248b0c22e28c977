"""SHARE_REQUIRES_PERMISSION: a public link needs resources.share_resource."""

from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import groups as group_services
from accounts.permissions import HasPermission
from resources.models import Resource


@pytest.fixture
def share_permission(db) -> Permission:
    return Permission.objects.get(
        content_type__app_label="resources", codename="share_resource"
    )


@pytest.fixture
def resource(approved_user, resource_factory) -> Resource:
    return resource_factory(owner=approved_user, title="Mine")


def share(client, resource: Resource):
    return client.post(f"/api/v1/resources/{resource.pk}/share/")


def shared(resource: Resource) -> bool:
    resource.refresh_from_db()
    return resource.share_token is not None


@pytest.mark.django_db
def test_without_the_setting_anyone_approved_shares(
    settings, approved_user, resource, auth_client
):
    settings.SHARE_REQUIRES_PERMISSION = False

    response = share(auth_client(approved_user), resource)

    assert response.status_code == HTTPStatus.CREATED


@pytest.mark.django_db
def test_with_the_setting_a_user_without_the_permission_gets_403(
    settings, approved_user, resource, auth_client
):
    settings.SHARE_REQUIRES_PERMISSION = True

    response = share(auth_client(approved_user), resource)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "permission_denied"
    assert "resources.share_resource" in response.json()["detail"]
    assert not shared(resource)


@pytest.mark.django_db
def test_with_the_setting_a_member_of_a_granting_group_shares(
    settings, approved_user, resource, auth_client, share_permission
):
    settings.SHARE_REQUIRES_PERMISSION = True
    sharers = group_services.group_create(
        name="sharers", permissions=[share_permission], actor=None
    )
    group_services.user_set_groups(user=approved_user, groups=[sharers], actor=None)

    response = share(auth_client(approved_user), resource)

    assert response.status_code == HTTPStatus.CREATED
    assert shared(resource)


@pytest.mark.django_db
def test_with_the_setting_an_admin_shares_without_any_group(
    settings, admin_user, resource_factory, auth_client
):
    settings.SHARE_REQUIRES_PERMISSION = True
    resource = resource_factory(owner=admin_user, title="Admin's")

    response = share(auth_client(admin_user), resource)

    assert response.status_code == HTTPStatus.CREATED


@pytest.mark.django_db
def test_leaving_the_group_takes_the_permission_away_at_the_next_request(
    settings, approved_user, resource_factory, auth_client, share_permission
):
    settings.SHARE_REQUIRES_PERMISSION = True
    sharers = group_services.group_create(
        name="sharers", permissions=[share_permission], actor=None
    )
    group_services.user_set_groups(user=approved_user, groups=[sharers], actor=None)
    client = auth_client(approved_user)
    first = share(client, resource_factory(owner=approved_user, title="One"))

    group_services.user_set_groups(user=approved_user, groups=[], actor=None)
    second = share(client, resource_factory(owner=approved_user, title="Two"))

    assert (first.status_code, second.status_code) == (
        HTTPStatus.CREATED,
        HTTPStatus.FORBIDDEN,
    )


@pytest.mark.django_db
def test_revoking_a_link_needs_no_permission(
    settings, approved_user, resource, auth_client
):
    client = auth_client(approved_user)
    share(client, resource)
    settings.SHARE_REQUIRES_PERMISSION = True

    response = client.delete(f"/api/v1/resources/{resource.pk}/share/")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not shared(resource)


@pytest.mark.django_db
def test_the_permission_check_costs_no_query(
    settings, approved_user, resource, auth_client, share_permission
):
    approved_user.user_permissions.add(share_permission)
    client = auth_client(approved_user)
    share(client, resource)  # the link exists: both calls below only read it
    settings.SHARE_REQUIRES_PERMISSION = False
    with CaptureQueriesContext(connection) as unchecked:
        share(client, resource)
    settings.SHARE_REQUIRES_PERMISSION = True

    with CaptureQueriesContext(connection) as checked:
        response = share(client, resource)

    assert response.status_code == HTTPStatus.CREATED
    assert len(checked) == len(unchecked)


def test_has_permission_is_named_in_one_line():
    gate = HasPermission("resources.share_resource")

    assert gate() is gate
    assert gate.permission == "resources.share_resource"
