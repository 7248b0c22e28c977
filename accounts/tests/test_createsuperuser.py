from http import HTTPStatus

import pytest
from django.core.management import call_command

from accounts.models import User


@pytest.mark.django_db
def test_createsuperuser_makes_an_approved_admin_who_can_sign_in(
    api_client, monkeypatch
):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-admin-passphrase")

    call_command("createsuperuser", "--no-input", "--email", "Root@Example.com")

    user = User.objects.get(email="root@example.com")
    assert (user.status, user.role, user.is_staff, user.is_superuser) == (
        "approved",
        "admin",
        True,
        True,
    )
    assert user.groups.filter(name="admins").exists()
    response = api_client.post(
        "/api/v1/auth/login/",
        {"email": "root@example.com", "password": "a-long-admin-passphrase"},
        format="json",
    )
    assert response.status_code == HTTPStatus.OK
    assert response.json()["user"]["is_admin"] is True
