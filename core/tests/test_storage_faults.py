"""Cloud storage failing: uploads answer 503 and keep nothing; deletions wait in a queue.

Real servers (moto's S3, gcp-storage-emulator, the Cloudinary stand-in) behind a
loopback proxy that fails on demand (core/tests/fault_proxy.py): the storage
backends and their SDKs run unchanged.
"""

from __future__ import annotations

import time
from http import HTTPStatus
from urllib.parse import urlsplit

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from core.models import FileDeletion
from core.tests.fault_proxy import FaultProxy
from resources.models import ResourceFile
from resources.tests.files import png_bytes, upload

pytest_plugins = ["core.tests.storage_servers"]


@pytest.fixture
def s3_behind_proxy(s3_env, moto_endpoint, clean_storage_env, storage_from_env):
    address = urlsplit(moto_endpoint)
    proxy = FaultProxy(address.hostname or "", address.port or 80).start()
    clean_storage_env.setenv("CLOUD_STORAGE_ENDPOINT_URL", proxy.url)
    storage_from_env()
    yield proxy
    proxy.stop()


@pytest.fixture
def gcs_behind_proxy(gcs_env, gcs_emulator, clean_storage_env, storage_from_env):
    _server, endpoint = gcs_emulator
    address = urlsplit(endpoint)
    proxy = FaultProxy(address.hostname or "", address.port or 80).start()
    clean_storage_env.setenv("STORAGE_EMULATOR_HOST", proxy.url)
    storage_from_env()
    yield proxy
    proxy.stop()


@pytest.fixture
def cloudinary_behind_proxy(cloudinary_env, clean_storage_env, storage_from_env):
    api = urlsplit(cloudinary_env.api_url)
    proxy = FaultProxy(api.hostname or "", api.port or 80).start()
    clean_storage_env.setenv(
        "CLOUDINARY_URL", cloudinary_env.cloudinary_url(upload_prefix=proxy.url)
    )
    storage_from_env()
    yield proxy
    proxy.stop()


@pytest.fixture
def short_timeouts(clean_storage_env):
    clean_storage_env.setenv("CLOUD_STORAGE_CONNECT_TIMEOUT", "1")
    clean_storage_env.setenv("CLOUD_STORAGE_TIMEOUT", "1")
    clean_storage_env.setenv("CLOUD_STORAGE_ATTEMPTS", "2")


@pytest.fixture
def one_short_attempt(short_timeouts, clean_storage_env):
    clean_storage_env.setenv("CLOUD_STORAGE_ATTEMPTS", "1")


def _objects(request, provider: str) -> list[str]:
    """What the storage service really holds, asked behind the proxy's back."""
    if provider == "s3":
        client, bucket = (
            request.getfixturevalue("s3_client"),
            request.getfixturevalue("s3_env"),
        )
        listed = client.list_objects_v2(Bucket=bucket)
        return [item["Key"] for item in listed.get("Contents", [])]
    if provider == "gcs":
        _server, endpoint = request.getfixturevalue("gcs_emulator")
        bucket = request.getfixturevalue("gcs_env")
        listed = requests.get(f"{endpoint}/storage/v1/b/{bucket}/o", timeout=10)
        listed.raise_for_status()
        return [item["name"] for item in listed.json().get("items", [])]
    fake = request.getfixturevalue("cloudinary_env")
    return [public_id for _kind, public_id in fake.assets]


@pytest.fixture(params=["s3", "gcs", "cloudinary"])
def provider(request) -> tuple[str, FaultProxy]:
    proxy = request.getfixturevalue(f"{request.param}_behind_proxy")
    return request.param, proxy


@pytest.fixture
def client(approved_user, auth_client):
    return auth_client(approved_user)


def _upload(client, resource, content: bytes = b"hello, storage"):
    return client.post(
        f"/api/v1/resources/{resource.pk}/upload/",
        {"file": upload("notes.txt", content)},
        format="multipart",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["error", "close"])
def test_an_upload_answers_503_and_keeps_nothing_when_storage_fails(
    request, provider, fault, client, approved_user, resource_factory
):
    name, proxy = provider
    resource = resource_factory(owner=approved_user)
    proxy.mode = fault

    response = _upload(client, resource)

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["code"] == "service_unavailable"
    assert response["Retry-After"] == "5"
    assert not ResourceFile.objects.exists()
    assert _objects(request, name) == []


@pytest.mark.django_db
def test_an_avatar_upload_answers_503_and_keeps_the_old_avatar(
    s3_behind_proxy, client, approved_user
):
    s3_behind_proxy.mode = "error"

    response = client.post(
        "/api/v1/auth/me/avatar/",
        {"file": upload("me.png", png_bytes(4, 4))},
        format="multipart",
    )

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["code"] == "service_unavailable"
    approved_user.refresh_from_db()
    assert not approved_user.avatar_file


@pytest.mark.django_db
def test_uploads_work_again_once_storage_answers(
    request, provider, client, approved_user, resource_factory
):
    name, proxy = provider
    resource = resource_factory(owner=approved_user)
    proxy.mode = "error"
    _upload(client, resource)
    proxy.mode = "pass"

    response = _upload(client, resource)

    assert response.status_code == HTTPStatus.CREATED, response.content
    assert len(_objects(request, name)) == 1


@pytest.mark.django_db
def test_stalled_storage_answers_503_within_the_timeouts(
    short_timeouts, provider, client, approved_user, resource_factory
):
    _name, proxy = provider
    resource = resource_factory(owner=approved_user)
    proxy.mode = "stall"

    started = time.monotonic()
    response = _upload(client, resource)
    elapsed = time.monotonic() - started

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    # 2 attempts of 1 s (S3 and GCS ask whether the name is free first), plus
    # backoff: far below an unbounded client's wait (GCS's own: 60 s a call,
    # retried for 120 s).
    assert elapsed < 8, f"answered after {elapsed:.1f} s"
    assert not ResourceFile.objects.exists()


@pytest.mark.django_db
def test_an_object_stored_behind_a_lost_answer_is_queued_and_removed(
    request, cloudinary_behind_proxy, client, approved_user, resource_factory
):
    resource = resource_factory(owner=approved_user)
    cloudinary_behind_proxy.mode = "lose_answer"
    response = _upload(client, resource)
    stored_anyway = _objects(request, "cloudinary")
    cloudinary_behind_proxy.mode = "pass"

    call_command("purge_orphan_files")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert not ResourceFile.objects.exists()
    assert len(stored_anyway) == 1  # the server did store it
    assert _objects(request, "cloudinary") == []
    assert not FileDeletion.objects.exists()


@pytest.mark.django_db
def test_a_failed_delete_drops_the_row_and_removes_the_object_later(
    request,
    provider,
    client,
    approved_user,
    resource_factory,
    settings,
    django_capture_on_commit_callbacks,
):
    name, proxy = provider
    settings.TASK_MAX_ATTEMPTS = 2
    resource = resource_factory(owner=approved_user)
    created = _upload(client, resource)
    assert created.status_code == HTTPStatus.CREATED, created.content
    proxy.mode = "error"

    with django_capture_on_commit_callbacks(execute=True):
        deleted = client.delete(
            f"/api/v1/resources/{resource.pk}/files/{created.json()['id']}/"
        )
    left_while_down = _objects(request, name)
    queued = FileDeletion.objects.get()
    proxy.mode = "pass"
    call_command("purge_orphan_files")

    assert deleted.status_code == HTTPStatus.NO_CONTENT
    assert not ResourceFile.objects.exists()
    assert len(left_while_down) == 1
    assert queued.attempts == settings.TASK_MAX_ATTEMPTS  # the task tried, and retried
    assert _objects(request, name) == []
    assert not FileDeletion.objects.exists()


@pytest.mark.parametrize(
    "call",
    [
        lambda storage: storage._save("notes.txt", ContentFile(b"hello")),
        lambda storage: storage.delete("notes.txt"),
    ],
    ids=["upload", "delete"],
)
def test_each_gcs_call_of_an_upload_or_delete_is_bounded_by_the_timeout(
    one_short_attempt, gcs_behind_proxy, call
):
    # The existence check an upload makes first is the stall test's. django-storages
    # alone waits the client's 60 s a call and retries for 120 s.
    gcs_behind_proxy.mode = "stall"

    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        call(default_storage)
    elapsed = time.monotonic() - started

    assert elapsed < 5, f"gave up after {elapsed:.1f} s"
