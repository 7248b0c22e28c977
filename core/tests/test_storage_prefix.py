"""Every stored key starts with this deployment's STORAGE_PREFIX, and the purge never
leaves it: a bucket shared with another deployment keeps that one's files."""

import os
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from core.storage.options import storage_prefix
from resources.models import ResourceFile
from resources.tests.files import png_bytes, upload

pytest_plugins = ["core.tests.storage_servers"]


@pytest.fixture
def prefix_env(monkeypatch):
    for name in ("STORAGE_PREFIX", "RENDER_SERVICE_NAME"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_default_prefix_is_a_slug_of_the_base_url_host(prefix_env):
    prefix = storage_prefix(base_url="https://Gatehouse.Example.com:8443/app")

    assert prefix == "gatehouse-example-com"


def test_on_render_the_service_name_is_the_default_prefix(prefix_env):
    prefix_env.setenv("RENDER_SERVICE_NAME", "gatehouse-staging")

    prefix = storage_prefix(base_url="https://gatehouse.example.com")

    assert prefix == "gatehouse-staging"


def test_storage_prefix_overrides_the_default(prefix_env):
    prefix_env.setenv("RENDER_SERVICE_NAME", "gatehouse-staging")
    prefix_env.setenv("STORAGE_PREFIX", "shared-prod")

    prefix = storage_prefix(base_url="https://gatehouse.example.com")

    assert prefix == "shared-prod"


@pytest.mark.parametrize("value", ["a/b", "..", "-x", "spaces here"])
def test_a_prefix_that_is_not_one_folder_name_is_refused(prefix_env, value):
    prefix_env.setenv("STORAGE_PREFIX", value)

    with pytest.raises(SystemExit) as refused:
        storage_prefix(base_url="https://gatehouse.example.com")

    assert "STORAGE_PREFIX" in str(refused.value)


@pytest.fixture
def client(approved_user, auth_client):
    return auth_client(approved_user)


@pytest.mark.django_db
def test_uploads_and_avatars_are_stored_under_the_prefix(
    client, approved_user, resource_factory, settings
):
    settings.STORAGE_PREFIX = "deploy-a"
    resource = resource_factory(owner=approved_user)

    client.post(
        f"/api/v1/resources/{resource.pk}/upload/",
        {"file": upload("a.txt", b"hello")},
        format="multipart",
    )
    client.post(
        "/api/v1/auth/me/avatar/",
        {"file": upload("me.png", png_bytes())},
        format="multipart",
    )

    approved_user.refresh_from_db()
    stored = [ResourceFile.objects.get().file.name, approved_user.avatar_file.name]
    assert stored[0].startswith(f"deploy-a/resources/{resource.pk}/")
    assert stored[1].startswith(f"deploy-a/avatars/{approved_user.pk}/")


@pytest.mark.django_db
def test_a_row_stored_before_the_prefix_still_serves_its_file(
    client, approved_user, resource_factory
):
    resource = resource_factory(owner=approved_user)
    legacy = default_storage.save(f"resources/{resource.pk}/old.txt", ContentFile(b"x"))
    ResourceFile.objects.create(
        resource=resource,
        file=legacy,
        name="old.txt",
        content_type="text/plain",
        size=1,
        checksum="0" * 64,
    )

    url = client.get(f"/api/v1/resources/{resource.pk}/").json()["files"][0]["url"]

    served = Client().get(url.removeprefix("http://testserver"))
    assert served.status_code == HTTPStatus.OK


def age(path: str) -> None:
    past = (timezone.now() - timedelta(hours=2)).timestamp()
    os.utime(default_storage.path(path), (past, past))


@pytest.mark.django_db
def test_purge_on_local_disk_keeps_other_deployments_files(settings):
    settings.STORAGE_PREFIX = "prod"
    mine = default_storage.save("prod/resources/gone/old.txt", ContentFile(b"x"))
    others = [
        default_storage.save("staging/resources/live/file.txt", ContentFile(b"x")),
        default_storage.save("staging/avatars/live/face.png", ContentFile(b"x")),
        default_storage.save("resources/live/unprefixed.txt", ContentFile(b"x")),
    ]
    for path in [mine, *others]:
        age(path)

    call_command("purge_orphan_files")

    assert not default_storage.exists(mine)
    assert all(default_storage.exists(path) for path in others)


@pytest.mark.django_db
def test_purge_in_a_shared_bucket_keeps_other_deployments_objects(
    s3_env, storage_from_env, settings
):
    storage = storage_from_env()
    settings.STORAGE_PREFIX = "prod"
    mine = storage.save("prod/avatars/gone/old.png", ContentFile(b"x"))
    theirs = storage.save("staging/avatars/live/face.png", ContentFile(b"x"))

    call_command("purge_orphan_files", "--older-than", "0")

    assert not storage.exists(mine)
    assert storage.exists(theirs)


@pytest.mark.django_db
def test_purge_refuses_a_folder_that_climbs_out_of_the_prefix():
    with pytest.raises(CommandError):
        call_command("purge_orphan_files", "--prefix", "../staging")
