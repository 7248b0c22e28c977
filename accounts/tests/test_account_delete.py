from http import HTTPStatus

import pytest
from django.core.files.storage import default_storage

from accounts.models import AuthSession, User
from conftest import DEFAULT_PASSWORD
from resources.tests.files import png_bytes, upload

ME = "/api/v1/auth/me/"


@pytest.mark.django_db
def test_deleting_the_account_removes_user_sessions_avatar_and_resources(
    approved_user, auth_client, resource_factory, django_capture_on_commit_callbacks
):
    client = auth_client(approved_user)
    client.post(
        f"{ME}avatar/", {"file": upload("a.png", png_bytes())}, format="multipart"
    )
    approved_user.refresh_from_db()
    avatar = approved_user.avatar_file.name
    resource_factory(owner=approved_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(ME, {"password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not User.objects.filter(pk=approved_user.pk).exists()
    assert not AuthSession.objects.filter(user_id=approved_user.pk).exists()
    assert not default_storage.exists(avatar)
    assert client.get(ME).status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_deleting_the_account_needs_the_right_password(approved_user, auth_client):
    response = auth_client(approved_user).delete(
        ME, {"password": "wrong"}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "password" in response.json()["errors"]
    assert User.objects.filter(pk=approved_user.pk).exists()


@pytest.mark.django_db
def test_the_last_active_admin_cannot_delete_their_account(admin_user, auth_client):
    response = auth_client(admin_user).delete(
        ME, {"password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert User.objects.filter(pk=admin_user.pk).exists()


@pytest.mark.django_db
def test_deleting_the_account_needs_authentication(api_client):
    assert api_client.delete(ME).status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_the_last_active_admin_deleting_their_account_gets_last_admin(
    admin_user, auth_client
):
    response = auth_client(admin_user).delete(
        ME, {"password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.json()["code"] == "last_admin"
    assert "non_field_errors" in response.json()["errors"]
