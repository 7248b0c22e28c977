"""The Cloudinary backend: the real SDK, configured from CLOUDINARY_URL, against a stand-in."""

import time
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import cloudinary.exceptions
import pytest
import requests
from cloudinary.utils import api_sign_request
from django.core.files.base import ContentFile, File

pytest_plugins = ["core.tests.storage_servers"]


def test_saved_content_keeps_its_name_and_bytes(cloudinary_env, storage_from_env):
    storage = storage_from_env()

    name = storage.save("resources/owner/report.pdf", ContentFile(b"%PDF-1.7 body"))

    assert name == "resources/owner/report.pdf"
    with storage.open(name) as stored:
        assert stored.read() == b"%PDF-1.7 body"


def test_saved_file_object_is_stored_whole(cloudinary_env, storage_from_env, tmp_path):
    storage = storage_from_env()
    path = tmp_path / "notes.txt"
    path.write_bytes(b"line\n" * 50_000)

    with path.open("rb") as handle:
        name = storage.save("resources/owner/notes.txt", File(handle))

    assert storage.size(name) == 250_000


def test_images_are_image_assets_and_other_files_raw_with_their_extension(
    cloudinary_env, storage_from_env
):
    storage = storage_from_env()

    storage.save("avatars/owner/face.png", ContentFile(b"\x89PNG bytes"))
    storage.save("resources/owner/data.csv", ContentFile(b"a,b\n"))

    assert set(cloudinary_env.assets) == {
        ("image", "avatars/owner/face"),
        ("raw", "resources/owner/data.csv"),
    }


def test_saving_under_a_taken_name_keeps_both_files(cloudinary_env, storage_from_env):
    storage = storage_from_env()
    first = storage.save("resources/owner/a.txt", ContentFile(b"first"))

    second = storage.save("resources/owner/a.txt", ContentFile(b"second"))

    assert second != first
    assert storage.open(first).read() == b"first"
    assert storage.open(second).read() == b"second"


def test_uploads_are_signed_with_the_api_key_and_secret(
    cloudinary_env, storage_from_env
):
    storage = storage_from_env()

    storage.save("resources/owner/a.txt", ContentFile(b"a"))

    upload = cloudinary_env.received[-1]
    assert upload.path == "/v1_1/gatehouse-test/raw/upload"
    assert upload.fields["api_key"] == cloudinary_env.api_key
    signed = {
        k: v for k, v in upload.fields.items() if k not in {"api_key", "signature"}
    }
    assert upload.fields["signature"] == api_sign_request(
        signed, cloudinary_env.api_secret
    )


def test_a_wrong_api_secret_is_refused(cloudinary_env, storage_from_env, monkeypatch):
    monkeypatch.setenv("CLOUDINARY_URL", cloudinary_env.cloudinary_url(secret="wrong"))
    storage = storage_from_env()

    with pytest.raises(cloudinary.exceptions.AuthorizationRequired):
        storage.save("resources/owner/a.txt", ContentFile(b"a"))

    assert cloudinary_env.assets == {}


def test_assets_are_stored_private_not_public(cloudinary_env, storage_from_env):
    storage = storage_from_env()

    storage.save("resources/owner/pic.png", ContentFile(b"\x89PNG bytes"))

    asset = cloudinary_env.assets[("image", "resources/owner/pic")]
    assert asset.type == "private"
    public_cdn_url = cloudinary_env.secure_url(asset).replace("/private/", "/upload/")
    assert requests.get(public_cdn_url, timeout=10).status_code == HTTPStatus.NOT_FOUND


def test_url_is_a_signed_download_link_that_serves_the_bytes(
    cloudinary_env, storage_from_env
):
    storage = storage_from_env()
    name = storage.save("resources/owner/pic.png", ContentFile(b"\x89PNG bytes"))

    url = storage.url(name)

    assert url.startswith(
        f"{cloudinary_env.api_url}/v1_1/gatehouse-test/image/download?"
    )
    query = parse_qs(urlsplit(url).query)
    assert int(query["expires_at"][0]) == pytest.approx(time.time() + 900, abs=5)
    assert requests.get(url, timeout=10).content == b"\x89PNG bytes"


def test_raw_files_are_served_by_their_link_too(cloudinary_env, storage_from_env):
    storage = storage_from_env()
    name = storage.save("resources/owner/data.csv", ContentFile(b"a,b\n"))

    response = requests.get(storage.url(name), timeout=10)

    assert response.content == b"a,b\n"


def test_an_expired_link_is_refused(cloudinary_env, storage_from_env):
    storage = storage_from_env()
    name = storage.save("resources/owner/pic.png", ContentFile(b"\x89PNG bytes"))

    url = storage.url(name, expires_at=int(time.time()) - 1)

    assert requests.get(url, timeout=10).status_code == HTTPStatus.UNAUTHORIZED


def test_a_link_with_a_pushed_back_expiry_is_refused(cloudinary_env, storage_from_env):
    storage = storage_from_env()
    name = storage.save("resources/owner/pic.png", ContentFile(b"\x89PNG bytes"))
    url = storage.url(name, expires_at=int(time.time()) - 1)

    tampered = url.replace(
        f"expires_at={parse_qs(urlsplit(url).query)['expires_at'][0]}",
        f"expires_at={int(time.time()) + 3600}",
    )

    assert tampered != url
    assert requests.get(tampered, timeout=10).status_code == HTTPStatus.UNAUTHORIZED


def test_a_link_pointed_at_another_asset_is_refused(cloudinary_env, storage_from_env):
    storage = storage_from_env()
    mine = storage.save("resources/mine/pic.png", ContentFile(b"mine"))
    storage.save("resources/theirs/pic.png", ContentFile(b"theirs"))

    tampered = storage.url(mine).replace("mine", "theirs")

    assert requests.get(tampered, timeout=10).status_code == HTTPStatus.UNAUTHORIZED


def test_exists_and_size_follow_the_stored_asset(cloudinary_env, storage_from_env):
    storage = storage_from_env()
    name = storage.save("resources/owner/a.txt", ContentFile(b"12345"))

    assert storage.exists(name)
    assert storage.size(name) == 5
    assert not storage.exists("resources/owner/missing.txt")


def test_modified_time_is_timezone_aware(cloudinary_env, storage_from_env):
    storage = storage_from_env()
    name = storage.save("resources/owner/a.txt", ContentFile(b"a"))

    modified = storage.get_modified_time(name)

    assert modified.utcoffset() is not None


def test_listdir_shows_folders_and_files_across_pages(cloudinary_env, storage_from_env):
    cloudinary_env.page_size = 2
    storage = storage_from_env()
    storage.save("resources/one/a.txt", ContentFile(b"a"))
    storage.save("resources/one/b.png", ContentFile(b"b"))
    storage.save("resources/two/c.txt", ContentFile(b"c"))
    storage.save("resources/d.txt", ContentFile(b"d"))
    storage.save("resources/e.gif", ContentFile(b"e"))
    storage.save("resources/f.pdf", ContentFile(b"f"))

    folders, files = storage.listdir("resources")

    assert folders == ["one", "two"]
    assert files == ["d.txt", "e.gif", "f.pdf"]


def test_delete_removes_the_asset(cloudinary_env, storage_from_env):
    storage = storage_from_env()
    name = storage.save("resources/owner/a.jpg", ContentFile(b"a"))

    storage.delete(name)

    assert not storage.exists(name)
    assert storage.listdir("resources/owner") == ([], [])


@pytest.mark.django_db
def test_health_reports_cloudinary_ok_with_one_ping_not_a_listing(
    cloudinary_env, storage_from_env, api_client
):
    storage_from_env()

    response = api_client.get("/health")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["storage"] == "ok"
    assert [r.path for r in cloudinary_env.received] == ["/v1_1/gatehouse-test/ping"]


@pytest.mark.django_db
def test_health_answers_503_when_cloudinary_is_unreachable(
    cloudinary_env, storage_from_env, api_client, dead_endpoint, monkeypatch
):
    url = cloudinary_env.cloudinary_url(upload_prefix=dead_endpoint)
    monkeypatch.setenv("CLOUDINARY_URL", url)
    storage_from_env()

    response = api_client.get("/health")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["storage"] == "unreachable"
