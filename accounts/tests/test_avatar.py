import time
from http import HTTPStatus

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from resources.tests.files import PDF_BYTES, png_bytes, upload

AVATAR = "/api/v1/auth/me/avatar/"


def post_avatar(client, name, content):
    return client.post(AVATAR, {"file": upload(name, content)}, format="multipart")


@pytest.mark.django_db
def test_avatar_upload_sets_an_absolute_avatar_url(
    approved_user, auth_client, settings
):
    response = post_avatar(auth_client(approved_user), "me.png", png_bytes())

    assert response.status_code == HTTPStatus.OK
    url = response.json()["avatar_url"]
    assert url.startswith(
        f"http://testserver/assets/{settings.STORAGE_PREFIX}/avatars/{approved_user.pk}/"
    )
    approved_user.refresh_from_db()
    assert default_storage.exists(approved_user.avatar_file.name)


@pytest.mark.django_db
def test_avatar_must_be_an_image(approved_user, auth_client):
    response = post_avatar(auth_client(approved_user), "me.png", PDF_BYTES)

    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert response.json()["code"] == "unsupported_file_type"


@pytest.mark.django_db
def test_avatar_over_the_limit_is_413(approved_user, auth_client, settings):
    settings.MAX_UPLOAD_SIZE = 50

    response = post_avatar(auth_client(approved_user), "me.png", png_bytes(8, 8))

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE


@pytest.mark.django_db
def test_a_new_avatar_removes_the_previous_file(
    approved_user, auth_client, django_capture_on_commit_callbacks
):
    client = auth_client(approved_user)
    post_avatar(client, "one.png", png_bytes())
    approved_user.refresh_from_db()
    first = approved_user.avatar_file.name

    with django_capture_on_commit_callbacks(execute=True):
        post_avatar(client, "two.png", png_bytes(3, 3))

    approved_user.refresh_from_db()
    assert approved_user.avatar_file.name != first
    assert not default_storage.exists(first)
    assert default_storage.exists(approved_user.avatar_file.name)


@pytest.mark.django_db
def test_setting_an_external_avatar_url_removes_the_uploaded_file(
    approved_user, auth_client, django_capture_on_commit_callbacks
):
    client = auth_client(approved_user)
    post_avatar(client, "one.png", png_bytes())
    approved_user.refresh_from_db()
    uploaded = approved_user.avatar_file.name

    with django_capture_on_commit_callbacks(execute=True):
        client.patch(
            "/api/v1/auth/me/", {"avatar_url": "https://cdn.example.com/a.png"}
        )

    approved_user.refresh_from_db()
    assert approved_user.avatar_url == "https://cdn.example.com/a.png"
    assert not approved_user.avatar_file
    assert not default_storage.exists(uploaded)


@pytest.mark.django_db
def test_an_uploaded_avatars_url_is_signed_on_each_read_not_stored(
    approved_user, auth_client
):
    client = auth_client(approved_user)
    post_avatar(client, "me.png", png_bytes())

    url = client.get("/api/v1/auth/me/").json()["avatar_url"]

    approved_user.refresh_from_db()
    assert approved_user.avatar_url == ""
    assert "signature=" in url
    served = Client().get(url.removeprefix("http://testserver"))
    assert b"".join(served.streaming_content) == png_bytes()


@pytest.mark.django_db
def test_an_avatar_url_stops_working_once_expired_and_me_gives_a_fresh_one(
    approved_user, auth_client, settings
):
    settings.FILE_URL_EXPIRE_SECONDS = 2  # whole seconds: 1 to 2 s of life
    client = auth_client(approved_user)
    old = post_avatar(client, "me.png", png_bytes()).json()["avatar_url"]
    time.sleep(3)

    settings.FILE_URL_EXPIRE_SECONDS = 900
    fresh = client.get("/api/v1/auth/me/").json()["avatar_url"]
    assert Client().get(old.removeprefix("http://testserver")).status_code == 404
    assert Client().get(fresh.removeprefix("http://testserver")).status_code == 200


@pytest.mark.django_db
def test_me_with_an_uploaded_avatar_still_costs_one_query(approved_user, auth_client):
    client = auth_client(approved_user)
    post_avatar(client, "me.png", png_bytes())

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/auth/me/")

    assert response.json()["avatar_url"]
    assert len(queries) == 1


@pytest.mark.django_db
def test_sending_back_the_signed_avatar_link_keeps_the_upload(
    approved_user, auth_client, django_capture_on_commit_callbacks
):
    client = auth_client(approved_user)
    post_avatar(client, "me.png", png_bytes())
    # A host with a real name: the test client's "testserver" is no valid URL host.
    me = client.get("/api/v1/auth/me/", HTTP_HOST="localhost:8000").json()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(
            "/api/v1/auth/me/",
            {"full_name": "New Name", "avatar_url": me["avatar_url"]},
            format="json",
        )

    approved_user.refresh_from_db()
    assert response.status_code == HTTPStatus.OK
    assert approved_user.avatar_file
    assert approved_user.avatar_url == ""
    assert default_storage.exists(approved_user.avatar_file.name)


@pytest.mark.django_db
def test_an_external_avatar_url_is_answered_as_given(approved_user, auth_client):
    client = auth_client(approved_user)
    client.patch("/api/v1/auth/me/", {"avatar_url": "https://cdn.example.com/a.png"})

    response = client.get("/api/v1/auth/me/")

    assert response.json()["avatar_url"] == "https://cdn.example.com/a.png"
