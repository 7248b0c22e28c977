import json
from http import HTTPStatus

import pytest
from django.core.files.storage import default_storage
from django.db.models import Q

from accounts import services
from accounts.models import AuthSession, User
from conftest import DEFAULT_PASSWORD
from core.models import ActivityLog
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


def _every_column_of_every_entry() -> str:
    fields = [field.attname for field in ActivityLog._meta.concrete_fields]
    return json.dumps(list(ActivityLog.objects.values(*fields)), default=str).lower()


@pytest.mark.django_db
def test_deleting_the_account_leaves_its_email_name_and_id_in_no_audit_entry(
    api_client, user_factory, admin_user, auth_client
):
    user = user_factory(
        email="Leaver@Example.com", full_name="Lena Leaver", status="pending"
    )
    request = services.access_request_open(user=user, reason="")
    services.access_request_approve(
        access_request=request, decided_by=admin_user, note="Welcome, Lena Leaver!"
    )
    api_client.post(
        "/api/v1/auth/login/",
        {"email": user.email, "password": "wrong"},
        format="json",
    )
    api_client.post(
        "/api/v1/auth/login/",
        {"email": user.email.upper(), "password": "wrong"},
        format="json",
    )
    admin = auth_client(admin_user)
    admin.patch(f"/api/v1/admin/users/{user.pk}/", {"role": "admin"}, format="json")
    admin.patch(f"/api/v1/admin/users/{user.pk}/", {"role": "user"}, format="json")
    client = auth_client(user)

    client.delete(ME, {"password": DEFAULT_PASSWORD}, format="json")

    everything = _every_column_of_every_entry()
    for trace in ("leaver@example.com", str(user.pk), user.pk.hex, "lena leaver"):
        assert trace not in everything
    assert ActivityLog.objects.filter(action="user.deleted").exists()


@pytest.mark.django_db
def test_deleting_the_account_keeps_other_users_entries_intact(
    api_client, user_factory, approved_user, auth_client
):
    other = user_factory(full_name="Otto Other")
    api_client.post(
        "/api/v1/auth/login/", {"email": other.email, "password": "x"}, format="json"
    )
    about_other = Q(actor=other) | Q(target_id=str(other.pk))
    before = list(ActivityLog.objects.filter(about_other).values())

    auth_client(approved_user).delete(ME, {"password": DEFAULT_PASSWORD}, format="json")

    assert list(ActivityLog.objects.filter(about_other).values()) == before
