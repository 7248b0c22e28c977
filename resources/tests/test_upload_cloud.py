"""Uploads through the API land in each cloud backend: upload, public URL, delete."""

from http import HTTPStatus

import pytest
import requests

from resources.models import ResourceFile
from resources.tests.files import png_bytes, upload

pytest_plugins = ["core.tests.storage_servers"]


@pytest.fixture(params=["s3_env", "gcs_env", "cloudinary_env"])
def cloud_storage(request, storage_from_env):
    request.getfixturevalue(request.param)
    return storage_from_env()


@pytest.mark.django_db
def test_an_upload_is_stored_served_and_deleted_in_the_cloud(
    cloud_storage,
    approved_user,
    resource_factory,
    auth_client,
    django_capture_on_commit_callbacks,
):
    client = auth_client(approved_user)
    resource = resource_factory(owner=approved_user)
    content = png_bytes(4, 4)

    created = client.post(
        f"/api/v1/resources/{resource.pk}/upload/",
        {"file": upload("photo.png", content)},
        format="multipart",
    )

    assert created.status_code == HTTPStatus.CREATED, created.content
    body = created.json()
    stored = ResourceFile.objects.get(pk=body["id"])
    assert cloud_storage.exists(stored.file.name)
    assert body["url"].startswith(("http://127.0.0.1", "https://127.0.0.1"))
    assert "testserver" not in body["url"]
    assert requests.get(body["url"], timeout=10).content == content

    with django_capture_on_commit_callbacks(execute=True):
        deleted = client.delete(f"/api/v1/resources/{resource.pk}/files/{stored.pk}/")

    assert deleted.status_code == HTTPStatus.NO_CONTENT
    assert not cloud_storage.exists(stored.file.name)


@pytest.mark.django_db
def test_deleting_a_resource_removes_its_cloud_objects(
    cloud_storage,
    approved_user,
    resource_factory,
    auth_client,
    django_capture_on_commit_callbacks,
):
    client = auth_client(approved_user)
    resource = resource_factory(owner=approved_user)
    for name in ("a.txt", "b.txt"):
        client.post(
            f"/api/v1/resources/{resource.pk}/upload/",
            {"file": upload(name, b"hello " + name.encode())},
            format="multipart",
        )
    paths = list(ResourceFile.objects.values_list("file", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        client.delete(f"/api/v1/resources/{resource.pk}/")

    assert len(paths) == 2
    assert not any(cloud_storage.exists(path) for path in paths)
