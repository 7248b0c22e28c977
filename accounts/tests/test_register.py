from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress

from accounts.models import AccessRequest, User

REGISTER = "/api/v1/auth/register/"
STRONG = "a-long-and-unusual-passphrase"


@pytest.mark.django_db
def test_register_creates_pending_user_with_access_request_and_no_tokens(
    api_client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            REGISTER,
            {"email": "New.Person@Example.com", "password": STRONG, "reason": "Team A"},
            format="json",
        )

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert set(body) == {"user", "detail"}
    assert body["user"]["email"] == "new.person@example.com"
    assert body["user"]["status"] == "pending"
    assert body["user"]["email_verified"] is False
    assert body["user"]["auth_provider"] == "password"
    request = AccessRequest.objects.get(user__email="new.person@example.com")
    assert request.status == "pending"
    assert request.reason == "Team A"
    assert "access" not in body


@pytest.mark.django_db
def test_register_sends_a_confirmation_email_whose_page_verifies_the_address(
    api_client, client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(
            REGISTER, {"email": "c@example.com", "password": STRONG}, format="json"
        )
    confirmation = next(m for m in mailoutbox if m.to == ["c@example.com"])
    link = next(w for w in confirmation.body.split() if "/accounts/confirm-email/" in w)

    client.post(link)

    assert EmailAddress.objects.get(email="c@example.com").verified


@pytest.mark.django_db
def test_register_notifies_admins_of_the_new_request(
    api_client, admin_user, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(
            REGISTER, {"email": "n@example.com", "password": STRONG}, format="json"
        )

    to_admin = [m for m in mailoutbox if m.to == [admin_user.email]]
    assert len(to_admin) == 1
    assert "n@example.com" in to_admin[0].subject


@pytest.mark.django_db
def test_register_hashes_passwords_with_argon2(api_client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]

    api_client.post(
        REGISTER, {"email": "h@example.com", "password": STRONG}, format="json"
    )

    assert User.objects.get(email="h@example.com").password.startswith("argon2")


@pytest.mark.django_db
def test_register_rejects_a_weak_password(api_client):
    response = api_client.post(
        REGISTER, {"email": "w@example.com", "password": "123"}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid"
    assert "password" in response.json()["errors"]
    assert not User.objects.filter(email="w@example.com").exists()


@pytest.mark.django_db
def test_register_rejects_a_bad_email(api_client):
    response = api_client.post(
        REGISTER, {"email": "nope", "password": STRONG}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"].keys() == {"email"}


@pytest.mark.django_db
def test_register_with_a_taken_email_in_any_case_answers_email_taken(
    api_client, approved_user
):
    response = api_client.post(
        REGISTER,
        {"email": approved_user.email.upper(), "password": STRONG},
        format="json",
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "email_taken"
    assert "email" in response.json()["errors"]


@pytest.mark.django_db
def test_register_is_forbidden_when_signup_is_closed(api_client, settings):
    settings.SIGNUP_MODE = "closed"

    response = api_client.post(REGISTER, {"email": "x@example.com", "password": STRONG})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "permission_denied"
    assert not User.objects.filter(email="x@example.com").exists()


@pytest.mark.django_db
def test_register_in_open_mode_approves_at_once(api_client, settings):
    settings.SIGNUP_MODE = "open"

    response = api_client.post(
        REGISTER, {"email": "o@example.com", "password": STRONG}, format="json"
    )

    assert response.json()["user"]["status"] == "approved"
    assert not AccessRequest.objects.filter(user__email="o@example.com").exists()


@pytest.mark.django_db
def test_register_ignores_read_only_fields(api_client):
    response = api_client.post(
        REGISTER,
        {
            "email": "r@example.com",
            "password": STRONG,
            "role": "admin",
            "status": "approved",
        },
        format="json",
    )

    user = User.objects.get(email="r@example.com")
    assert response.status_code == HTTPStatus.CREATED
    assert (user.role, user.status) == ("user", "pending")


@pytest.mark.django_db
def test_confirming_the_first_admin_email_makes_an_approved_admin(
    api_client, client, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.FIRST_ADMIN_EMAIL = "boss@example.com"
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(REGISTER, {"email": "boss@example.com", "password": STRONG})
    assert User.objects.get(email="boss@example.com").role == "user"  # unconfirmed yet
    link = next(
        w for w in mailoutbox[0].body.split() if "/accounts/confirm-email/" in w
    )

    client.post(link)

    user = User.objects.get(email="boss@example.com")
    assert (user.status, user.role, user.is_staff) == ("approved", "admin", True)


@pytest.mark.django_db
@pytest.mark.parametrize("password", [12345.678901234, 123456789012345, True])
def test_register_refuses_a_password_that_is_not_a_string(api_client, password):
    # Found by schemathesis: DRF read 12345.678901234 as the password "12345.678901234".
    response = api_client.post(
        REGISTER, {"email": "typed@example.com", "password": password}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"]["password"] == ["Not a valid string."]
    assert not User.objects.filter(email="typed@example.com").exists()
