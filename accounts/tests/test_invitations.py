"""Admins invite users: an approved account and a 7-day, one-use link to set a password."""

from __future__ import annotations

import re
from datetime import timedelta
from http import HTTPStatus

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress
from allauth.account.utils import user_pk_to_url_str
from django.urls import reverse

from accounts.invitations import invitation_token_generator
from accounts.models import AuthSession, User
from core.audit import Action
from core.models import ActivityLog

USERS = "/api/v1/admin/users/"
ACCEPT = "/api/v1/auth/invitation/accept/"
LOGIN = "/api/v1/auth/login/"
EMAIL = "newcomer@example.com"
NEW = "a-brand-new-passphrase"


@pytest.fixture
def invite(auth_client, admin_user, django_capture_on_commit_callbacks, mailoutbox):
    """Invites through the API; returns the created user's JSON and the mail."""
    client = auth_client(admin_user)

    def do(**body):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(USERS, {"email": EMAIL, **body}, format="json")
        assert response.status_code == HTTPStatus.CREATED, response.content
        return response.json(), mailoutbox[-1]

    return do


def _link(mail_body: str) -> tuple[str, str]:
    match = re.search(r"/accounts/invitation/([^/\s]+)/([^/\s]+)/", mail_body)
    assert match, mail_body
    return match.group(1), match.group(2)


def _accept(api_client, uid: str, token: str, password: str = NEW):
    return api_client.post(
        ACCEPT, {"uid": uid, "token": token, "new_password": password}, format="json"
    )


def _login(api_client, password: str = NEW):
    return api_client.post(LOGIN, {"email": EMAIL, "password": password}, format="json")


def _old_token(user: User, *, age: timedelta) -> str:
    generator = invitation_token_generator
    timestamp = generator._num_seconds(generator._now()) - int(age.total_seconds())
    return generator._make_token_with_timestamp(user, timestamp, generator.secret)


# --- Creating -----------------------------------------------------------------------


@pytest.mark.django_db
def test_an_invited_user_is_created_approved_without_a_password(invite):
    user_json, _ = invite(full_name="New Comer")

    assert (user_json["email"], user_json["full_name"], user_json["status"]) == (
        EMAIL,
        "New Comer",
        "approved",
    )
    assert user_json["email_verified"] is False
    assert not User.objects.get(email=EMAIL).has_usable_password()


@pytest.mark.django_db
def test_an_invitation_can_make_an_admin(invite):
    user_json, _ = invite(role="admin")

    assert (user_json["role"], user_json["is_admin"]) == ("admin", True)


@pytest.mark.django_db
def test_the_invitation_mail_goes_to_the_user_with_a_server_link(invite):
    _, mail = invite()

    assert mail.to == [EMAIL]
    assert "http://localhost:8000/accounts/invitation/" in mail.body
    assert "7 days" in mail.body


@pytest.mark.django_db
def test_the_invitation_link_can_point_at_a_frontend(invite, settings):
    settings.INVITATION_URL = "https://app.example.com/welcome?uid={uid}&token={token}"

    _, mail = invite()

    assert re.search(
        r"https://app\.example\.com/welcome\?uid=\w+&token=[\w-]+", mail.body
    )


@pytest.mark.django_db
def test_inviting_is_audited_with_the_admin_as_actor(invite, admin_user):
    user_json, _ = invite()

    entry = ActivityLog.objects.get(action=Action.INVITATION_SENT)
    assert (entry.actor, entry.target_id) == (admin_user, user_json["id"])


@pytest.mark.django_db
def test_inviting_a_taken_email_is_400_email_taken(auth_client, admin_user):
    response = auth_client(admin_user).post(
        USERS, {"email": admin_user.email.upper()}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "email_taken"


@pytest.mark.django_db
def test_inviting_a_bad_email_is_400_invalid(auth_client, admin_user):
    response = auth_client(admin_user).post(
        USERS, {"email": "not-an-address"}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid"
    assert "email" in response.json()["errors"]


@pytest.mark.django_db
def test_a_user_who_is_not_an_admin_cannot_invite(auth_client, approved_user):
    response = auth_client(approved_user).post(USERS, {"email": EMAIL}, format="json")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not User.objects.filter(email=EMAIL).exists()


# --- Accepting through the API ------------------------------------------------------


@pytest.mark.django_db
def test_accepting_sets_the_password_so_the_user_can_sign_in(
    invite, api_client, settings
):
    settings.SIGNUP_MODE = "closed"
    _, mail = invite()

    response = _accept(api_client, *_link(mail.body))

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert _login(api_client).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_accepting_confirms_the_address_and_signs_no_one_in(invite, api_client):
    _, mail = invite()

    _accept(api_client, *_link(mail.body))

    user = User.objects.get(email=EMAIL)
    assert EmailAddress.objects.get(user=user).verified
    assert not AuthSession.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_accepting_is_audited_once(invite, api_client):
    user_json, mail = invite()

    _accept(api_client, *_link(mail.body))

    entries = ActivityLog.objects.filter(target_id=user_json["id"]).exclude(
        action__in=[Action.INVITATION_SENT, Action.ROLE_CHANGED]
    )
    assert [(e.action, e.actor_id) for e in entries] == [
        (Action.INVITATION_ACCEPTED, User.objects.get(email=EMAIL).pk)
    ]


@pytest.mark.django_db
def test_an_invitation_link_works_only_once(invite, api_client):
    _, mail = invite()
    uid, token = _link(mail.body)
    _accept(api_client, uid, token)

    again = _accept(api_client, uid, token, password="yet-another-passphrase")

    assert again.status_code == HTTPStatus.BAD_REQUEST
    assert again.json()["code"] == "invalid"
    assert _login(api_client).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_an_invitation_older_than_7_days_is_400(invite, api_client):
    user_json, _ = invite()
    user = User.objects.get(pk=user_json["id"])
    token = _old_token(user, age=timedelta(days=7, hours=1))

    response = _accept(api_client, user_pk_to_url_str(user), token)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid"


@pytest.mark.django_db
def test_an_invitation_6_days_old_still_works(invite, api_client):
    user_json, _ = invite()
    user = User.objects.get(pk=user_json["id"])
    token = _old_token(user, age=timedelta(days=6))

    response = _accept(api_client, user_pk_to_url_str(user), token)

    assert response.status_code == HTTPStatus.NO_CONTENT


@pytest.mark.django_db
@pytest.mark.parametrize("uid", ["not-a-uid", "zz", "0" * 40, ""])
def test_a_malformed_uid_is_400_invalid(invite, api_client, uid):
    _, mail = invite()
    _, token = _link(mail.body)

    response = _accept(api_client, uid, token)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid"


@pytest.mark.django_db
def test_a_password_reset_token_is_no_invitation(invite, api_client):
    user_json, _ = invite()
    user = User.objects.get(pk=user_json["id"])

    response = _accept(
        api_client, user_pk_to_url_str(user), default_token_generator.make_token(user)
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.django_db
def test_accepting_with_a_weak_password_is_400_and_keeps_the_link(invite, api_client):
    _, mail = invite()
    uid, token = _link(mail.body)

    weak = _accept(api_client, uid, token, password="123")

    assert weak.status_code == HTTPStatus.BAD_REQUEST
    assert weak.json()["code"] == "invalid"
    assert "new_password" in weak.json()["errors"]
    assert _accept(api_client, uid, token).status_code == HTTPStatus.NO_CONTENT


# --- The server's page --------------------------------------------------------------


@pytest.mark.django_db
def test_the_invitation_page_shows_a_form_and_uses_nothing_up(invite, client):
    _, mail = invite()
    uid, token = _link(mail.body)
    url = reverse("invitation-accept", args=[uid, token])

    page = client.get(url)

    assert page.status_code == HTTPStatus.OK
    assert 'id="invitation-form"' in page.content.decode()
    assert client.get(url).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_the_invitation_page_sets_the_password_on_post(invite, client, api_client):
    _, mail = invite()
    url = reverse("invitation-accept", args=_link(mail.body))

    response = client.post(url, {"new_password1": NEW, "new_password2": NEW})

    assert response.status_code == HTTPStatus.OK
    assert "Your password is set" in response.content.decode()
    assert _login(api_client).status_code == HTTPStatus.OK
    assert client.get(url).status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.django_db
def test_the_invitation_page_shows_a_weak_password_error(invite, client):
    _, mail = invite()
    url = reverse("invitation-accept", args=_link(mail.body))

    response = client.post(url, {"new_password1": "123", "new_password2": "123"})

    assert response.status_code == HTTPStatus.OK
    assert "too short" in response.content.decode()
    assert not User.objects.get(email=EMAIL).has_usable_password()


@pytest.mark.django_db
def test_the_invitation_page_refuses_a_malformed_link(client):
    response = client.get(reverse("invitation-accept", args=["nope", "bad-token"]))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "does not work" in response.content.decode()


# --- The Django admin's "Add user" --------------------------------------------------


@pytest.mark.django_db
def test_the_admin_add_user_form_has_no_password_field(client, admin_user):
    client.force_login(admin_user)

    page = client.get(reverse("admin:accounts_user_add"))

    assert page.status_code == HTTPStatus.OK
    assert 'name="email"' in page.content.decode()
    assert 'type="password"' not in page.content.decode()


@pytest.mark.django_db
def test_the_admin_add_user_form_invites_the_user(
    client, admin_user, api_client, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:accounts_user_add"),
            {"email": "NewComer@Example.com", "full_name": "New Comer", "role": "user"},
        )

    user = User.objects.get(email=EMAIL)
    assert response.status_code == HTTPStatus.FOUND
    assert (user.status, user.full_name) == (User.Status.APPROVED, "New Comer")
    assert ActivityLog.objects.get(action=Action.INVITATION_SENT).actor == admin_user
    assert _accept(api_client, *_link(mailoutbox[-1].body)).status_code == 204


@pytest.mark.django_db
def test_the_admin_add_user_form_refuses_a_taken_email(client, admin_user):
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:accounts_user_add"),
        {"email": admin_user.email, "full_name": "", "role": "user"},
    )

    assert response.status_code == HTTPStatus.OK
    assert "already exists" in response.content.decode()
    assert User.objects.count() == 1
