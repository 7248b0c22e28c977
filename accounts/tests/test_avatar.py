from http import HTTPStatus

import pytest
from django.core.files.storage import default_storage

from resources.tests.files import PDF_BYTES, png_bytes, upload

AVATAR = "/api/v1/auth/me/avatar/"


def post_avatar(client, name, content):
    return client.post(AVATAR, {"file": upload(name, content)}, format="multipart")


@pytest.mark.django_db
def test_avatar_upload_sets_an_absolute_avatar_url(approved_user, auth_client):
    response = post_avatar(auth_client(approved_user), "me.png", png_bytes())

    assert response.status_code == HTTPStatus.OK
    url = response.json()["avatar_url"]
    assert url.startswith(f"http://testserver/assets/avatars/{approved_user.pk}/")
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
