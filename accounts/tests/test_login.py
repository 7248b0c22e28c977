from http import HTTPStatus

import pytest

from accounts.models import AuthSession, User
from conftest import DEFAULT_PASSWORD

LOGIN = "/api/v1/auth/login/"


@pytest.mark.django_db
def test_login_returns_tokens_and_the_user(api_client, approved_user):
    response = api_client.post(
        LOGIN,
        {"email": approved_user.email, "password": DEFAULT_PASSWORD},
        format="json",
    )

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["access"]
    assert body["refresh"]
    assert body["user"]["email"] == approved_user.email
    assert body["user"]["is_admin"] is False
    assert set(body["user"]) == {
        "id",
        "email",
        "email_verified",
        "full_name",
        "avatar_url",
        "role",
        "status",
        "is_admin",
        "auth_provider",
        "date_joined",
        "last_login",
    }


@pytest.mark.django_db
def test_login_email_is_case_insensitive(api_client, approved_user):
    response = api_client.post(
        LOGIN, {"email": approved_user.email.upper(), "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_login_opens_a_session_recording_device_and_ip(api_client, approved_user):
    api_client.post(
        LOGIN,
        {"email": approved_user.email, "password": DEFAULT_PASSWORD},
        HTTP_USER_AGENT="pytest-browser/1.0",
        REMOTE_ADDR="10.1.2.3",
    )

    session = AuthSession.objects.get(user=approved_user)
    assert session.user_agent == "pytest-browser/1.0"
    assert session.ip == "10.1.2.3"
    assert session.ended_at is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("email", "password"),
    [("nobody@example.com", DEFAULT_PASSWORD), (None, "wrong-password")],
    ids=["unknown-email", "wrong-password"],
)
def test_bad_credentials_answer_the_same_401(
    api_client, approved_user, email, password
):
    response = api_client.post(
        LOGIN,
        {"email": email or approved_user.email, "password": password},
        format="json",
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {
        "detail": "The email or password is not correct.",
        "code": "invalid_credentials",
    }


@pytest.mark.django_db
def test_google_only_account_cannot_log_in_with_a_password(api_client, user_factory):
    user = user_factory(password=None, auth_provider=User.AuthProvider.GOOGLE)

    response = api_client.post(
        LOGIN, {"email": user.email, "password": "any-guess"}, format="json"
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "invalid_credentials"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "code"),
    [
        (User.Status.PENDING, "approval_pending"),
        (User.Status.REJECTED, "access_rejected"),
        (User.Status.DISABLED, "account_disabled"),
    ],
)
def test_unapproved_users_get_403_with_their_status_code(
    api_client, user_factory, status, code
):
    user = user_factory(status=status)

    response = api_client.post(
        LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == code
    assert not AuthSession.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_unapproved_status_is_not_revealed_without_the_password(
    api_client, user_factory
):
    user = user_factory(status=User.Status.PENDING)

    response = api_client.post(LOGIN, {"email": user.email, "password": "guess"})

    assert response.json()["code"] == "invalid_credentials"


@pytest.mark.django_db
def test_failed_login_for_unknown_email_still_hashes_a_password(
    api_client, monkeypatch
):
    from accounts import services

    hashed = []
    real = services.make_password
    monkeypatch.setattr(
        services, "make_password", lambda p: hashed.append(p) or real(p)
    )

    api_client.post(LOGIN, {"email": "ghost@example.com", "password": "whatever"})

    assert len(hashed) == 1
