"""Deleting resources in the Django admin goes through resource_delete()."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from core.audit import Action
from core.models import ActivityLog
from resources import services
from resources.models import Resource
from resources.tests.files import upload


@pytest.fixture
def console(client, admin_user):
    client.force_login(admin_user)
    return client


def _with_file(resource_factory) -> tuple[Resource, str]:
    resource = resource_factory()
    stored = services.resource_file_add(
        resource=resource, upload=upload("notes.txt", b"hello")
    )
    assert stored.file.name is not None
    return resource, stored.file.name


@pytest.mark.django_db
def test_deleting_a_resource_removes_its_stored_files(
    console, resource_factory, django_capture_on_commit_callbacks
):
    resource, path = _with_file(resource_factory)

    with django_capture_on_commit_callbacks(execute=True):
        console.post(
            reverse("admin:resources_resource_delete", args=[resource.pk]),
            {"post": "yes"},
        )

    assert not Resource.objects.filter(pk=resource.pk).exists()
    assert not default_storage.exists(path)


@pytest.mark.django_db
def test_deleting_a_resource_is_audited_with_the_admin_as_actor(
    console, admin_user, resource_factory
):
    resource = resource_factory()

    console.post(
        reverse("admin:resources_resource_delete", args=[resource.pk]),
        {"post": "yes"},
    )

    entry = ActivityLog.objects.get(action=Action.RESOURCE_DELETED)
    assert (entry.actor, entry.target_id) == (admin_user, str(resource.pk))


@pytest.mark.django_db
def test_bulk_delete_removes_each_resource_and_its_files(
    console, resource_factory, django_capture_on_commit_callbacks
):
    (first, first_path), (second, second_path) = (
        _with_file(resource_factory),
        _with_file(resource_factory),
    )

    with django_capture_on_commit_callbacks(execute=True):
        console.post(
            reverse("admin:resources_resource_changelist"),
            {
                "action": "delete_selected",
                "_selected_action": [str(first.pk), str(second.pk)],
                "post": "yes",
            },
        )

    assert not Resource.objects.filter(pk__in=[first.pk, second.pk]).exists()
    assert not default_storage.exists(first_path)
    assert not default_storage.exists(second_path)
    assert ActivityLog.objects.filter(action=Action.RESOURCE_DELETED).count() == 2
