"""Local disk full: an upload answers 507 and leaves no row and no partial file.

The disk is a real one: a 64 KB tmpfs mounted as MEDIA_ROOT (as root; CI runs
as root), so the write fails where a full disk fails it, with ENOSPC.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path

import pytest

from conftest import services_required
from resources.models import ResourceFile
from resources.tests.files import upload

DISK_BYTES = 64 * 1024
FILE_BYTES = 40 * 1024  # one fits, two do not


@pytest.fixture
def tiny_disk(settings, tmp_path) -> Iterator[Path]:
    media = tmp_path / "tiny-disk"
    media.mkdir()
    mounted = subprocess.run(  # noqa: S603
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(media)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        if services_required():
            pytest.fail(f"mounting a tmpfs needs root: {mounted.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    settings.MEDIA_ROOT = media
    yield media
    # Lazy: a file a failed test left open must not keep the mount behind.
    subprocess.run(["umount", "--lazy", str(media)], check=True)  # noqa: S603, S607


def _files_under(folder: Path) -> list[Path]:
    return [
        Path(root, name) for root, _dirs, names in os.walk(folder) for name in names
    ]


@pytest.fixture
def client(approved_user, auth_client):
    return auth_client(approved_user)


def _upload(client, resource, size: int):
    return client.post(
        f"/api/v1/resources/{resource.pk}/upload/",
        {"file": upload("big.txt", b"x" * size)},
        format="multipart",
    )


@pytest.mark.django_db
def test_an_upload_larger_than_the_free_space_answers_507(
    tiny_disk, client, approved_user, resource_factory
):
    resource = resource_factory(owner=approved_user)

    response = _upload(client, resource, size=3 * DISK_BYTES)

    assert response.status_code == HTTPStatus.INSUFFICIENT_STORAGE
    assert response.json()["code"] == "insufficient_storage"
    assert not ResourceFile.objects.exists()
    assert _files_under(tiny_disk) == []  # no partial file, under any name


@pytest.mark.django_db
def test_a_full_disk_keeps_the_files_it_holds_whole(
    tiny_disk, client, approved_user, resource_factory
):
    resource = resource_factory(owner=approved_user)
    first = _upload(client, resource, size=FILE_BYTES)
    assert first.status_code == HTTPStatus.CREATED, first.content

    second = _upload(client, resource, size=FILE_BYTES)

    assert second.status_code == HTTPStatus.INSUFFICIENT_STORAGE
    stored = ResourceFile.objects.get()
    assert [path.name for path in _files_under(tiny_disk)] == [
        Path(stored.file.name).name
    ]
    assert stored.file.read() == b"x" * (FILE_BYTES)
