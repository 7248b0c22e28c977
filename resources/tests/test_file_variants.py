"""The file JSON lists an image's variants, on each storage, and they go with the file."""

from __future__ import annotations

import io
import os
from datetime import timedelta
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from resources.models import ResourceFile
from resources.tests.files import png_bytes, upload
from resources.tests.test_list_json import without_signatures

pytest_plugins = ["core.tests.storage_servers"]

SIZES = ["100x100", "300x300c", "800x0"]


@pytest.fixture(autouse=True)
def _sizes(settings):
    settings.THUMB_SIZES = SIZES


@pytest.fixture
def client(approved_user, auth_client):
    return auth_client(approved_user)


def add_file(client, resource, name: str, content: bytes) -> dict:
    response = client.post(
        f"/api/v1/resources/{resource.pk}/upload/",
        {"file": upload(name, content)},
        format="multipart",
    )
    assert response.status_code == HTTPStatus.CREATED, response.content
    return response.json()


def relative(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def image_of(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


@pytest.mark.django_db
def test_an_image_file_lists_a_url_for_each_allowed_size(client, resource):
    body = add_file(client, resource, "photo.png", png_bytes(40, 20))

    variants = body["variants"]

    assert list(variants) == SIZES
    for label, url in variants.items():
        assert url.startswith("http://testserver/assets/")
        query = parse_qs(urlsplit(url).query)
        assert query["thumb"] == [label]
        assert urlsplit(url).path == urlsplit(body["url"]).path


@pytest.mark.django_db
def test_a_file_that_is_not_an_image_lists_no_variants(client, resource):
    body = add_file(client, resource, "notes.txt", b"hello")

    assert body["variants"] == {}


@pytest.mark.django_db
def test_the_list_and_the_detail_carry_the_same_variants(client, resource):
    add_file(client, resource, "photo.png", png_bytes(40, 20))

    listed = client.get("/api/v1/resources/").json()["results"][0]["files"][0]
    detail = client.get(f"/api/v1/resources/{resource.pk}/").json()["files"][0]

    assert set(listed["variants"]) == set(detail["variants"]) == set(SIZES)
    assert {k: relative(v).split("?")[0] for k, v in listed["variants"].items()} == {
        k: relative(v).split("?")[0] for k, v in detail["variants"].items()
    }


@pytest.mark.django_db
def test_a_listed_variant_url_serves_the_variant(client, resource):
    body = add_file(client, resource, "photo.png", png_bytes(400, 200))

    response = Client().get(relative(body["variants"]["300x300c"]))

    assert response.status_code == HTTPStatus.OK
    image = image_of(b"".join(response.streaming_content))
    assert (image.format, image.size) == ("WEBP", (300, 300))


@pytest.mark.django_db
def test_listing_images_takes_the_same_queries_as_listing_other_files(
    approved_user, client, resource_factory
):
    for name, content in [("a.txt", b"x"), ("b.png", png_bytes())]:
        add_file(client, resource_factory(owner=approved_user), name, content)
    with CaptureQueriesContext(connection) as two:
        client.get("/api/v1/resources/")
    for _ in range(5):
        add_file(client, resource_factory(owner=approved_user), "c.png", png_bytes())

    with CaptureQueriesContext(connection) as seven:
        response = client.get("/api/v1/resources/")

    assert response.json()["count"] == 7
    assert len(seven) == len(two) == 4  # auth, count, page, files


def make_variants(body: dict) -> str:
    for url in body["variants"].values():
        assert Client().get(relative(url)).status_code == HTTPStatus.OK
    stored = str(ResourceFile.objects.get(pk=body["id"]).file.name)
    assert len(default_storage.listdir(f"{stored}.thumbs")[1]) == len(SIZES)
    return stored


@pytest.mark.django_db
def test_deleting_a_file_removes_its_variants(
    client, resource, django_capture_on_commit_callbacks
):
    body = add_file(client, resource, "photo.png", png_bytes(40, 20))
    stored = make_variants(body)

    with django_capture_on_commit_callbacks(execute=True):
        client.delete(f"/api/v1/resources/{resource.pk}/files/{body['id']}/")

    assert not default_storage.exists(stored)
    assert not os.path.exists(default_storage.path(f"{stored}.thumbs"))


@pytest.mark.django_db
def test_deleting_a_resource_removes_its_files_variants(
    client, resource, django_capture_on_commit_callbacks
):
    stored = make_variants(add_file(client, resource, "photo.png", png_bytes(40, 20)))

    with django_capture_on_commit_callbacks(execute=True):
        client.delete(f"/api/v1/resources/{resource.pk}/")

    assert not os.path.exists(default_storage.path(f"{stored}.thumbs"))


@pytest.mark.django_db
def test_deleting_the_owner_account_removes_the_variants(
    client, resource, django_capture_on_commit_callbacks
):
    stored = make_variants(add_file(client, resource, "photo.png", png_bytes(40, 20)))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(
            "/api/v1/auth/me/",
            {"password": "correct-horse-battery-staple"},
            format="json",
        )

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not os.path.exists(default_storage.path(f"{stored}.thumbs"))


@pytest.mark.django_db
def test_the_orphan_purge_keeps_live_variants_and_removes_orphaned_ones(
    client, resource, settings
):
    live = make_variants(add_file(client, resource, "live.png", png_bytes(40, 20)))
    gone_body = add_file(client, resource, "gone.png", png_bytes(40, 20))
    gone = make_variants(gone_body)
    ResourceFile.objects.filter(pk=gone_body["id"]).delete()  # a row lost, no queue
    two_hours_ago = (timezone.now() - timedelta(hours=2)).timestamp()
    for name in [live, gone]:
        for variant in default_storage.listdir(f"{name}.thumbs")[1]:
            path = default_storage.path(f"{name}.thumbs/{variant}")
            os.utime(path, (two_hours_ago, two_hours_ago))
    os.utime(default_storage.path(gone), (two_hours_ago, two_hours_ago))

    call_command("purge_orphan_files", "--older-than", "60")

    assert len(default_storage.listdir(f"{live}.thumbs")[1]) == len(SIZES)
    assert not default_storage.exists(gone)
    assert not os.path.exists(default_storage.path(f"{gone}.thumbs"))


# --- Cloud storages -------------------------------------------------------------
@pytest.fixture(params=["s3_env", "gcs_env"])
def bucket_storage(request, storage_from_env):
    request.getfixturevalue(request.param)
    return storage_from_env()


@pytest.mark.django_db
def test_in_a_bucket_a_variant_is_made_there_and_served_from_it(
    bucket_storage, client, resource, django_capture_on_commit_callbacks
):
    body = add_file(client, resource, "photo.png", png_bytes(400, 200))
    stored = ResourceFile.objects.get(pk=body["id"]).file.name

    answer = Client().get(relative(body["variants"]["100x100"]))

    assert answer.status_code == HTTPStatus.FOUND
    assert bucket_storage.exists(f"{stored}.thumbs/100x100.webp")
    served = requests.get(answer["Location"], timeout=10)
    assert served.status_code == HTTPStatus.OK
    assert image_of(served.content).size == (100, 50)

    with django_capture_on_commit_callbacks(execute=True):
        client.delete(f"/api/v1/resources/{resource.pk}/files/{body['id']}/")

    assert not bucket_storage.exists(stored)
    assert bucket_storage.listdir(f"{stored}.thumbs") == ([], [])


@pytest.mark.django_db
def test_in_a_bucket_the_list_and_the_detail_carry_the_same_variants(
    bucket_storage, client, resource
):
    add_file(client, resource, "photo.png", png_bytes(40, 20))

    listed = client.get("/api/v1/resources/").json()["results"][0]["files"][0]
    detail = client.get(f"/api/v1/resources/{resource.pk}/").json()["files"][0]

    assert without_signatures(listed["variants"]) == without_signatures(
        detail["variants"]
    )
    assert all(
        url.startswith("http://testserver/assets/")
        for url in listed["variants"].values()
    )


@pytest.mark.django_db
def test_on_s3_a_variant_is_made_once(s3_env, storage_from_env, client, resource):
    storage = storage_from_env()
    body = add_file(client, resource, "photo.png", png_bytes(400, 200))
    variant = f"{ResourceFile.objects.get(pk=body['id']).file.name}.thumbs/800x0.webp"
    Client().get(relative(body["variants"]["800x0"]))
    made = storage.get_modified_time(variant)

    again = Client().get(relative(body["variants"]["800x0"]))

    assert again.status_code == HTTPStatus.FOUND
    assert storage.get_modified_time(variant) == made
    assert storage.listdir(f"{variant.rsplit('/', 1)[0]}")[1] == ["800x0.webp"]


@pytest.mark.django_db
def test_a_bucket_that_stops_answering_makes_a_variant_503_json(
    s3_env, storage_from_env, clean_storage_env, dead_endpoint, client, resource
):
    storage_from_env()
    body = add_file(client, resource, "photo.png", png_bytes(40, 20))
    clean_storage_env.setenv("CLOUD_STORAGE_ENDPOINT_URL", dead_endpoint)
    clean_storage_env.setenv("CLOUD_STORAGE_ATTEMPTS", "1")
    storage_from_env()

    response = Client().get(relative(body["variants"]["100x100"]))

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["code"] == "service_unavailable"
    assert response["Retry-After"] == "5"


@pytest.mark.django_db
def test_on_s3_the_original_is_not_served_by_the_app(
    s3_env, storage_from_env, client, resource
):
    storage_from_env()
    body = add_file(client, resource, "photo.png", png_bytes(40, 20))
    link = relative(body["variants"]["100x100"]).replace("&thumb=100x100", "")

    assert Client().get(link).status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db
def test_on_cloudinary_variants_are_signed_transformation_urls(
    cloudinary_env, storage_from_env, client, resource
):
    storage_from_env()

    body = add_file(client, resource, "photo.png", png_bytes(40, 20))

    variants = body["variants"]
    assert "/image/private/s--" in variants["100x100"]
    assert "/c_limit,h_100,w_100/" in variants["100x100"]
    assert "/c_fill,h_300,w_300/" in variants["300x300c"]
    assert "/c_limit,w_800/" in variants["800x0"]
    assert add_file(client, resource, "notes.txt", b"hi")["variants"] == {}


@pytest.mark.django_db
def test_deleting_an_image_on_cloudinary_lists_nothing(
    cloudinary_env,
    storage_from_env,
    client,
    resource,
    django_capture_on_commit_callbacks,
):
    storage_from_env()
    body = add_file(client, resource, "photo.png", png_bytes(40, 20))
    cloudinary_env.received.clear()

    with django_capture_on_commit_callbacks(execute=True):
        client.delete(f"/api/v1/resources/{resource.pk}/files/{body['id']}/")

    # One destroy call; no Admin API listing (rate-limited) for variants it never stored.
    assert [r.method for r in cloudinary_env.received] == ["POST"]
