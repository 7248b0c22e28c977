"""Files and rows never orphan each other: store first, remove after commit, retry."""

import os
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from core.models import FileDeletion
from resources.models import Resource, ResourceFile
from resources.tests.files import png_bytes, upload


@pytest.fixture
def client(approved_user, auth_client):
    return auth_client(approved_user)


def add_file(client, resource, name="a.txt", content=b"hello") -> ResourceFile:
    response = client.post(
        f"/api/v1/resources/{resource.pk}/upload/",
        {"file": upload(name, content)},
        format="multipart",
    )
    assert response.status_code == HTTPStatus.CREATED, response.content
    return ResourceFile.objects.get(pk=response.json()["id"])


def block_removal(path: str) -> None:
    """Makes the stored object impossible to delete: a non-empty folder in its place."""
    real = Path(default_storage.path(path))
    real.unlink()
    (real / "keep").mkdir(parents=True)


@pytest.mark.django_db
def test_deleting_a_resource_removes_its_stored_files_after_commit(
    client, resource, django_capture_on_commit_callbacks
):
    paths = [add_file(client, resource, f"{i}.txt").file.name for i in range(2)]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"/api/v1/resources/{resource.pk}/")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not any(default_storage.exists(p) for p in paths)
    assert not FileDeletion.objects.exists()


@pytest.mark.django_db
def test_files_stay_until_the_transaction_commits(client, resource):
    stored = add_file(client, resource)

    # Without running on-commit callbacks the transaction is, in effect, not committed.
    client.delete(f"/api/v1/resources/{resource.pk}/")

    assert default_storage.exists(stored.file.name)
    assert FileDeletion.objects.filter(path=stored.file.name).exists()


@pytest.mark.django_db
def test_deleting_one_file(client, resource, django_capture_on_commit_callbacks):
    keep, drop = (
        add_file(client, resource, "keep.txt"),
        add_file(client, resource, "drop.txt"),
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"/api/v1/resources/{resource.pk}/files/{drop.pk}/")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not default_storage.exists(drop.file.name)
    assert default_storage.exists(keep.file.name)
    assert list(resource.files.values_list("name", flat=True)) == ["keep.txt"]


@pytest.mark.django_db
def test_deleting_a_file_of_another_resource_is_404(client, resource, resource_factory):
    other = resource_factory(owner=resource.owner)
    stored = add_file(client, other)

    response = client.delete(f"/api/v1/resources/{resource.pk}/files/{stored.pk}/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert ResourceFile.objects.filter(pk=stored.pk).exists()


@pytest.mark.django_db
def test_a_failed_store_leaves_no_row(client, resource, settings, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the storage root should be")
    settings.MEDIA_ROOT = blocked

    response = client.post(
        f"/api/v1/resources/{resource.pk}/upload/",
        {"file": upload("a.txt", b"hello")},
        format="multipart",
    )

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["code"] == "service_unavailable"
    assert not ResourceFile.objects.exists()


@pytest.mark.django_db
def test_a_failed_removal_is_queued_and_retried_by_the_purge_command(
    client, resource, django_capture_on_commit_callbacks, settings
):
    stored = add_file(client, resource)
    path = stored.file.name
    block_removal(path)

    with django_capture_on_commit_callbacks(execute=True):
        client.delete(f"/api/v1/resources/{resource.pk}/")

    queued = FileDeletion.objects.get(path=path)  # retried, still failing, kept
    assert (queued.attempts, bool(queued.last_error)) == (
        settings.TASK_MAX_ATTEMPTS,
        True,
    )
    Path(default_storage.path(path), "keep").rmdir()

    call_command("purge_orphan_files")

    assert not FileDeletion.objects.exists()
    assert not os.path.exists(default_storage.path(path))


@pytest.mark.django_db
def test_purge_removes_old_unreferenced_files_and_keeps_the_rest(
    client, resource, capsys, settings
):
    referenced = add_file(client, resource).file.name
    folder = f"{settings.STORAGE_PREFIX}/resources/gone"
    old_orphan = default_storage.save(f"{folder}/old.txt", ContentFile(b"x"))
    young_orphan = default_storage.save(f"{folder}/young.txt", ContentFile(b"x"))
    two_hours_ago = (timezone.now() - timedelta(hours=2)).timestamp()
    os.utime(default_storage.path(old_orphan), (two_hours_ago, two_hours_ago))

    call_command("purge_orphan_files", "--older-than", "60")

    assert default_storage.exists(referenced)
    assert default_storage.exists(young_orphan)
    assert not default_storage.exists(old_orphan)
    assert "Orphans: 1 removed." in capsys.readouterr().out


@pytest.mark.django_db
def test_purge_dry_run_removes_nothing(client, resource, settings):
    orphan = default_storage.save(
        f"{settings.STORAGE_PREFIX}/resources/gone/old.txt", ContentFile(b"x")
    )
    past = (timezone.now() - timedelta(hours=2)).timestamp()
    os.utime(default_storage.path(orphan), (past, past))

    call_command("purge_orphan_files", "--dry-run")

    assert default_storage.exists(orphan)


@pytest.mark.django_db
def test_deleting_the_owner_account_removes_their_files(
    approved_user, client, resource, django_capture_on_commit_callbacks
):
    stored = add_file(client, resource, "p.png", png_bytes())

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(
            "/api/v1/auth/me/",
            {"password": "correct-horse-battery-staple"},
            format="json",
        )

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not Resource.objects.exists()
    assert not default_storage.exists(stored.file.name)
