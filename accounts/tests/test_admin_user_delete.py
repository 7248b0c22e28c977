"""Deleting users in the Django admin follows the same rules as the API."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core.files.storage import default_storage
from django.urls import reverse

from accounts.errors import LastAdminError
from accounts.models import User
from core.audit import Action
from core.models import ActivityLog
from resources import services as resource_services
from resources.tests.files import upload

CHANGELIST = reverse("admin:accounts_user_changelist")


@pytest.fixture
def console(client, admin_user):
    client.force_login(admin_user)
    return client


def _delete(client, user: User):
    url = reverse("admin:accounts_user_delete", args=[user.pk])
    return client.post(url, {"post": "yes"}, follow=True)


def _bulk_delete(client, *users: User):
    return client.post(
        CHANGELIST,
        {
            "action": "delete_selected",
            "_selected_action": [str(user.pk) for user in users],
            "post": "yes",
        },
        follow=True,
    )


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _stored_file(owner: User, resource_factory) -> str:
    resource = resource_factory(owner=owner)
    stored = resource_services.resource_file_add(
        resource=resource, upload=upload("notes.txt", b"hello")
    )
    assert stored.file.name
    return stored.file.name


@pytest.mark.django_db
def test_deleting_a_user_removes_their_stored_files(
    console, approved_user, resource_factory, django_capture_on_commit_callbacks
):
    path = _stored_file(approved_user, resource_factory)

    with django_capture_on_commit_callbacks(execute=True):
        _delete(console, approved_user)

    assert not User.objects.filter(pk=approved_user.pk).exists()
    assert not default_storage.exists(path)


@pytest.mark.django_db
def test_deleting_a_user_is_audited_with_the_admin_as_actor(
    console, admin_user, approved_user
):
    _delete(console, approved_user)

    entry = ActivityLog.objects.get(action=Action.ACCOUNT_DELETED)
    # The deleted account is anonymised in its own entry too; the admin stays named.
    assert (entry.actor, entry.target_id) == (admin_user, "")


@pytest.mark.django_db
def test_the_last_admin_cannot_delete_themselves(console, admin_user):
    response = _delete(console, admin_user)

    assert str(LastAdminError.default_detail) in _messages(response)
    assert User.objects.filter(pk=admin_user.pk).exists()
    assert not ActivityLog.objects.filter(action=Action.ACCOUNT_DELETED).exists()


@pytest.mark.django_db
def test_bulk_delete_removes_each_user_through_the_service(
    console, user_factory, resource_factory, django_capture_on_commit_callbacks
):
    first, second = user_factory(), user_factory()
    paths = [_stored_file(user, resource_factory) for user in (first, second)]

    with django_capture_on_commit_callbacks(execute=True):
        _bulk_delete(console, first, second)

    assert not User.objects.filter(pk__in=[first.pk, second.pk]).exists()
    assert not any(default_storage.exists(path) for path in paths)
    assert ActivityLog.objects.filter(action=Action.ACCOUNT_DELETED).count() == 2


@pytest.mark.django_db
def test_bulk_delete_with_the_last_admin_deletes_no_one(
    console, admin_user, approved_user
):
    response = _bulk_delete(console, admin_user, approved_user)

    assert str(LastAdminError.default_detail) in _messages(response)
    assert User.objects.filter(pk__in=[admin_user.pk, approved_user.pk]).count() == 2
    assert not ActivityLog.objects.filter(action=Action.ACCOUNT_DELETED).exists()
