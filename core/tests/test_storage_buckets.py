"""The bucket backends, S3 (moto's server) and GCS (gcp-storage-emulator), configured
from the environment and run against their local servers on 127.0.0.1.

Neither stand-in checks a presigned URL's signature or expiry (moto checks only
header-signed requests; the emulator checks nothing), so those tests assert the
signed parameters, and for GCS check the signature and expiry against the
throwaway key as GCS would.
"""

import datetime as dt
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.files.base import ContentFile, File

pytest_plugins = ["core.tests.storage_servers"]

# Each backend's environment fixture, and the variable that points it at its server.
BACKENDS = {
    "s3": ("s3_env", "CLOUD_STORAGE_ENDPOINT_URL"),
    "gcs": ("gcs_env", "STORAGE_EMULATOR_HOST"),
}
# The query parameters of each backend's signed URLs: (lifetime, signature).
SIGNED = {
    "CLOUD_STORAGE_ENDPOINT_URL": ("X-Amz-Expires", "X-Amz-Signature"),
    "STORAGE_EMULATOR_HOST": ("X-Goog-Expires", "X-Goog-Signature"),
}


@pytest.fixture(params=sorted(BACKENDS))
def backend_env(request) -> str:
    """Sets up one backend's environment; returns the variable naming its server."""
    env_fixture, endpoint_variable = BACKENDS[request.param]
    request.getfixturevalue(env_fixture)
    return endpoint_variable


def test_saved_content_keeps_its_name_and_bytes(backend_env, storage_from_env):
    storage = storage_from_env()

    name = storage.save("resources/owner/report.pdf", ContentFile(b"%PDF-1.7 body"))

    assert name == "resources/owner/report.pdf"
    with storage.open(name) as stored:
        assert stored.read() == b"%PDF-1.7 body"


def test_saved_file_object_is_stored_whole(backend_env, storage_from_env, tmp_path):
    storage = storage_from_env()
    path = tmp_path / "notes.txt"
    path.write_bytes(b"line\n" * 50_000)

    with path.open("rb") as handle:
        name = storage.save("resources/owner/notes.txt", File(handle))

    assert storage.size(name) == 250_000


def test_saving_under_a_taken_name_keeps_both_files(backend_env, storage_from_env):
    storage = storage_from_env()
    first = storage.save("resources/owner/a.txt", ContentFile(b"first"))

    second = storage.save("resources/owner/a.txt", ContentFile(b"second"))

    assert second != first
    assert storage.open(first).read() == b"first"


def test_url_is_signed_and_serves_the_bytes(backend_env, storage_from_env):
    storage = storage_from_env()
    name = storage.save("resources/owner/pic.png", ContentFile(b"\x89PNG bytes"))

    url = storage.url(name)

    assert url.startswith("http://127.0.0.1:")
    expires, signature = SIGNED[backend_env]
    query = parse_qs(urlsplit(url).query)
    assert query[expires] == ["900"]
    assert query[signature][0]
    assert requests.get(url, timeout=10).content == b"\x89PNG bytes"


def test_url_lifetime_follows_file_url_expire_seconds(
    backend_env, storage_from_env, monkeypatch
):
    monkeypatch.setenv("FILE_URL_EXPIRE_SECONDS", "60")
    storage = storage_from_env()
    name = storage.save("resources/owner/a.txt", ContentFile(b"a"))

    url = storage.url(name)

    expires, _signature = SIGNED[backend_env]
    assert parse_qs(urlsplit(url).query)[expires] == ["60"]


def test_gcs_url_is_signed_by_the_service_account_key(
    gcs_env, storage_from_env, gcs_url_refusal
):
    storage = storage_from_env()
    name = storage.save("resources/owner/a.txt", ContentFile(b"a"))
    now = dt.datetime.now(dt.UTC)

    url = storage.url(name)

    assert gcs_url_refusal(url, now=now) is None
    tampered = url.replace("/resources/owner/a.txt", "/resources/other/b.txt")
    assert gcs_url_refusal(tampered, now=now) == "signature"


def test_gcs_url_expires_file_url_expire_seconds_after_it_is_made(
    gcs_env, storage_from_env, gcs_url_refusal
):
    storage = storage_from_env()
    name = storage.save("resources/owner/a.txt", ContentFile(b"a"))
    made = dt.datetime.now(dt.UTC)

    url = storage.url(name)

    later = made + dt.timedelta(seconds=880)
    assert gcs_url_refusal(url, now=later) is None
    expired = made + dt.timedelta(seconds=905)
    assert gcs_url_refusal(url, now=expired) == "expired"


def test_s3_objects_are_stored_private(s3_env, storage_from_env, s3_client):
    storage = storage_from_env()
    name = storage.save("resources/owner/a.txt", ContentFile(b"a"))

    acl = s3_client.get_object_acl(Bucket=s3_env, Key=name)

    grantees = [grant["Grantee"] for grant in acl["Grants"]]
    assert [grantee["Type"] for grantee in grantees] == ["CanonicalUser"]


def test_exists_and_size_follow_the_stored_object(backend_env, storage_from_env):
    storage = storage_from_env()
    name = storage.save("resources/owner/a.txt", ContentFile(b"12345"))

    assert storage.exists(name)
    assert storage.size(name) == 5
    assert not storage.exists("resources/owner/missing.txt")


def test_listdir_shows_folders_and_files(backend_env, storage_from_env):
    storage = storage_from_env()
    storage.save("resources/one/a.txt", ContentFile(b"a"))
    storage.save("resources/two/b.txt", ContentFile(b"b"))
    storage.save("resources/c.txt", ContentFile(b"c"))

    folders, files = storage.listdir("resources")

    assert sorted(folders) == ["one", "two"]
    assert files == ["c.txt"]


def test_delete_removes_the_object(backend_env, storage_from_env):
    storage = storage_from_env()
    name = storage.save("resources/owner/a.txt", ContentFile(b"a"))

    storage.delete(name)

    assert not storage.exists(name)
    assert storage.listdir("resources/owner") == ([], [])


@pytest.mark.django_db
def test_health_reports_storage_ok_when_the_server_answers(
    backend_env, storage_from_env, api_client
):
    storage_from_env()

    response = api_client.get("/health")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["storage"] == "ok"


@pytest.mark.django_db
def test_health_answers_503_when_the_storage_is_unreachable(
    backend_env, storage_from_env, api_client, dead_endpoint, monkeypatch
):
    monkeypatch.setenv(backend_env, dead_endpoint)
    storage_from_env()

    response = api_client.get("/health")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["storage"] == "unreachable"
