"""POST /api/v1/resources/{id}/upload/: types from bytes, size limits, stored names."""

import hashlib
from http import HTTPStatus

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from core.tests.request_bodies import CountingInput
from resources.models import ResourceFile
from resources.tests.files import (
    GIF_BYTES,
    HTML_BYTES,
    PDF_BYTES,
    SVG_BYTES,
    png_bytes,
    upload,
)


def upload_url(resource) -> str:
    return f"/api/v1/resources/{resource.pk}/upload/"


@pytest.fixture
def client(approved_user, auth_client):
    return auth_client(approved_user)


def post_file(client, resource, name, content, content_type="application/octet-stream"):
    return client.post(
        upload_url(resource),
        {"file": upload(name, content, content_type)},
        format="multipart",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("photo.png", png_bytes(), "image/png"),
        ("anim.gif", GIF_BYTES, "image/gif"),
        ("doc.pdf", PDF_BYTES, "application/pdf"),
        ("notes.txt", "héllo wörld\n".encode(), "text/plain"),
        ("table.csv", b"a,b\n1,2\n", "text/csv"),
    ],
)
def test_allowed_types_are_stored_with_the_type_of_their_bytes(
    client, resource, name, content, expected
):
    response = post_file(client, resource, name, content)

    assert response.status_code == HTTPStatus.CREATED, response.content
    body = response.json()
    assert set(body) == {
        "id",
        "name",
        "url",
        "variants",
        "content_type",
        "size",
        "created_at",
    }
    assert (body["name"], body["content_type"], body["size"]) == (
        name,
        expected,
        len(content),
    )
    stored = ResourceFile.objects.get(pk=body["id"])
    assert stored.checksum == hashlib.sha256(content).hexdigest()
    with default_storage.open(stored.file.name) as f:
        assert f.read() == content


@pytest.mark.django_db
def test_a_png_renamed_pdf_is_stored_as_png(client, resource):
    response = post_file(client, resource, "report.pdf", png_bytes(), "application/pdf")

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["content_type"] == "image/png"
    assert ResourceFile.objects.get().file.name.endswith(".png")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("cat.png", HTML_BYTES),
        ("logo.svg", SVG_BYTES),
        ("archive.zip", b"PK\x03\x04" + b"\x00" * 100),
        ("binary.bin", bytes(range(256)) * 4),
    ],
    ids=["html-renamed-png", "svg", "zip", "binary"],
)
def test_other_types_answer_415_whatever_the_name_or_header(
    client, resource, name, content
):
    response = post_file(client, resource, name, content, "image/png")

    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert response.json()["code"] == "unsupported_file_type"
    assert not ResourceFile.objects.exists()


@pytest.mark.django_db
def test_an_empty_file_is_refused(client, resource):
    response = post_file(client, resource, "empty.txt", b"")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "file" in response.json()["errors"]
    assert not ResourceFile.objects.exists()


@pytest.mark.django_db
def test_a_missing_file_is_400(client, resource):
    response = client.post(upload_url(resource), {}, format="multipart")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "file" in response.json()["errors"]


@pytest.mark.django_db
def test_a_file_at_the_limit_is_accepted(client, resource, settings):
    settings.MAX_UPLOAD_SIZE = 1000

    response = post_file(client, resource, "a.txt", b"a" * 1000)

    assert response.status_code == HTTPStatus.CREATED


@pytest.mark.django_db
def test_a_file_one_byte_over_the_limit_is_413(client, resource, settings):
    settings.MAX_UPLOAD_SIZE = 1000

    response = post_file(client, resource, "a.txt", b"a" * 1001)

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json()["code"] == "file_too_large"
    assert not ResourceFile.objects.exists()


@pytest.mark.django_db
def test_an_oversized_body_is_refused_before_it_is_read(
    approved_user, resource, sign_in, settings
):
    settings.MAX_UPLOAD_SIZE = 100 * 1024
    boundary = "BoUnDaRy"
    payload = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        + b"a" * (2 * 1024 * 1024)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    body = CountingInput(payload)
    token = sign_in(approved_user)["access"]

    response = Client().generic(
        "POST",
        upload_url(resource),
        CONTENT_TYPE=f"multipart/form-data; boundary={boundary}",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        CONTENT_LENGTH=str(len(payload)),
        **{"wsgi.input": body},
    )

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert body.read_bytes < 64 * 1024


@pytest.mark.django_db
def test_a_path_in_the_name_never_reaches_the_storage_key(client, resource, settings):
    response = post_file(client, resource, "../../etc/passwd", b"root:x:0:0\n")

    stored = ResourceFile.objects.get()
    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["name"] == "passwd"
    assert ".." not in stored.file.name
    assert "passwd" not in stored.file.name
    assert stored.file.name.startswith(
        f"{settings.STORAGE_PREFIX}/resources/{resource.pk}/"
    )


@pytest.mark.django_db
def test_file_url_is_absolute_and_serves_the_bytes(client, resource, settings):
    body = post_file(client, resource, "p.png", png_bytes()).json()

    assert body["url"].startswith(
        f"http://testserver/assets/{settings.STORAGE_PREFIX}/resources/"
    )
    served = Client().get(body["url"].removeprefix("http://testserver"))
    assert served.status_code == HTTPStatus.OK
    assert b"".join(served.streaming_content) == png_bytes()
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served["Content-Security-Policy"]


@pytest.mark.django_db
def test_uploaded_files_appear_on_the_resource(client, resource):
    post_file(client, resource, "a.txt", b"one")
    post_file(client, resource, "b.txt", b"two")

    files = client.get(f"/api/v1/resources/{resource.pk}/").json()["files"]

    assert [f["name"] for f in files] == ["a.txt", "b.txt"]
