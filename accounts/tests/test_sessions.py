"""Refresh rotation, session end and access-token revocation."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import AuthSession, User
from accounts.sessions import session_start
from conftest import DEFAULT_PASSWORD

REFRESH = "/api/v1/auth/refresh/"
ME = "/api/v1/auth/me/"


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.mark.django_db
def test_refresh_rotates_and_the_new_pair_works(api_client, approved_user, sign_in):
    tokens = sign_in(approved_user)

    response = api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == HTTPStatus.OK
    new = response.json()
    assert set(new) == {"access", "refresh"}
    assert new["refresh"] != tokens["refresh"]
    assert bearer(new["access"]).get(ME).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_a_rotated_refresh_token_is_refused(api_client, approved_user, sign_in):
    tokens = sign_in(approved_user)
    api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")

    response = api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.django_db
def test_reuse_within_grace_keeps_the_session(api_client, approved_user, sign_in):
    tokens = sign_in(approved_user)
    newer = api_client.post(REFRESH, {"refresh": tokens["refresh"]}).json()

    api_client.post(REFRESH, {"refresh": tokens["refresh"]})

    assert bearer(newer["access"]).get(ME).status_code == HTTPStatus.OK
    assert api_client.post(REFRESH, {"refresh": newer["refresh"]}).status_code == 200


@pytest.mark.django_db
def test_reuse_after_grace_ends_the_whole_session(api_client, approved_user, sign_in):
    tokens = sign_in(approved_user)
    newer = api_client.post(REFRESH, {"refresh": tokens["refresh"]}).json()
    AuthSession.objects.filter(user=approved_user).update(
        rotated_at=timezone.now() - timedelta(seconds=31)
    )

    response = api_client.post(REFRESH, {"refresh": tokens["refresh"]})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert bearer(newer["access"]).get(ME).status_code == HTTPStatus.UNAUTHORIZED
    assert api_client.post(REFRESH, {"refresh": newer["refresh"]}).status_code == 401
    assert AuthSession.objects.get(user=approved_user).end_reason == "refresh_reuse"


@pytest.mark.django_db
def test_rotation_keeps_the_sessions_absolute_end(api_client, approved_user, sign_in):
    from rest_framework_simplejwt.tokens import RefreshToken

    tokens = sign_in(approved_user)

    rotated = api_client.post(REFRESH, {"refresh": tokens["refresh"]}).json()

    assert (
        RefreshToken(rotated["refresh"])["exp"]
        == RefreshToken(tokens["refresh"])["exp"]
    )
    session = AuthSession.objects.get(user=approved_user)
    assert int(session.expires_at.timestamp()) == RefreshToken(tokens["refresh"])["exp"]


@pytest.mark.django_db
def test_refresh_fails_once_the_session_has_expired(api_client, approved_user, sign_in):
    tokens = sign_in(approved_user)
    AuthSession.objects.filter(user=approved_user).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = api_client.post(REFRESH, {"refresh": tokens["refresh"]})

    assert response.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_refresh_with_garbage_answers_token_not_valid(api_client):
    response = api_client.post(REFRESH, {"refresh": "garbage"}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.django_db
def test_an_access_token_is_not_accepted_as_refresh_token(
    api_client, approved_user, sign_in
):
    tokens = sign_in(approved_user)

    response = api_client.post(REFRESH, {"refresh": tokens["access"]}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_logout_ends_that_session_only(api_client, approved_user, sign_in):
    phone, laptop = sign_in(approved_user), sign_in(approved_user)

    response = api_client.post("/api/v1/auth/logout/", {"refresh": phone["refresh"]})

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert bearer(phone["access"]).get(ME).status_code == HTTPStatus.UNAUTHORIZED
    assert api_client.post(REFRESH, {"refresh": phone["refresh"]}).status_code == 401
    assert bearer(laptop["access"]).get(ME).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_logout_with_a_bad_token_answers_401(api_client):
    response = api_client.post("/api/v1/auth/logout/", {"refresh": "nope"})

    assert response.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_logout_all_ends_every_session(api_client, approved_user, sign_in):
    phone, laptop = sign_in(approved_user), sign_in(approved_user)

    response = bearer(phone["access"]).post("/api/v1/auth/logout-all/")

    assert response.status_code == HTTPStatus.NO_CONTENT
    for tokens in (phone, laptop):
        assert bearer(tokens["access"]).get(ME).status_code == HTTPStatus.UNAUTHORIZED
        assert (
            api_client.post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 401
        )


@pytest.mark.django_db
def test_sessions_lists_live_sessions_marking_the_current_one(approved_user, sign_in):
    phone, laptop = sign_in(approved_user), sign_in(approved_user)
    api = bearer(laptop["access"])
    APIClient().post("/api/v1/auth/logout/", {"refresh": phone["refresh"]})

    response = api.get("/api/v1/auth/sessions/")

    assert response.status_code == HTTPStatus.OK
    sessions = response.json()
    assert len(sessions) == 1
    assert set(sessions[0]) == {
        "id",
        "user_agent",
        "ip",
        "created_at",
        "last_used_at",
        "current",
    }
    assert sessions[0]["current"] is True


@pytest.mark.django_db
def test_deleting_a_session_revokes_its_tokens(approved_user, sign_in):
    phone, laptop = sign_in(approved_user), sign_in(approved_user)
    api = bearer(laptop["access"])
    phone_id = next(
        s["id"] for s in api.get("/api/v1/auth/sessions/").json() if not s["current"]
    )

    response = api.delete(f"/api/v1/auth/sessions/{phone_id}/")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert bearer(phone["access"]).get(ME).status_code == HTTPStatus.UNAUTHORIZED
    assert api.get(ME).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_another_users_session_cannot_be_deleted(approved_user, user_factory, sign_in):
    other = user_factory()
    sign_in(other)
    others_session = AuthSession.objects.get(user=other)
    api = bearer(sign_in(approved_user)["access"])

    response = api.delete(f"/api/v1/auth/sessions/{others_session.pk}/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert AuthSession.objects.get(pk=others_session.pk).ended_at is None


@pytest.mark.django_db
@pytest.mark.parametrize("status", [User.Status.REJECTED, User.Status.DISABLED])
def test_access_token_dies_when_the_user_is_rejected_or_disabled(
    approved_user, admin_user, sign_in, status
):
    tokens = sign_in(approved_user)

    services.user_update(user=approved_user, status=status)

    assert bearer(tokens["access"]).get(ME).status_code == HTTPStatus.UNAUTHORIZED
    assert APIClient().post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 401


@pytest.mark.django_db
def test_access_token_dies_when_the_user_is_deleted(approved_user, sign_in):
    tokens = sign_in(approved_user)

    approved_user.delete()

    assert bearer(tokens["access"]).get(ME).status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_password_change_revokes_other_sessions_but_keeps_this_one(
    approved_user, sign_in
):
    phone, laptop = sign_in(approved_user), sign_in(approved_user)

    response = bearer(laptop["access"]).post(
        "/api/v1/auth/password/change/",
        {"old_password": DEFAULT_PASSWORD, "new_password": "another-long-passphrase"},
        format="json",
    )

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert bearer(phone["access"]).get(ME).status_code == HTTPStatus.UNAUTHORIZED
    assert bearer(laptop["access"]).get(ME).status_code == HTTPStatus.OK
    approved_user.refresh_from_db()
    assert approved_user.check_password("another-long-passphrase")


@pytest.mark.django_db
def test_password_change_with_wrong_old_password_is_400(approved_user, auth_client):
    client = auth_client(approved_user)

    response = client.post(
        "/api/v1/auth/password/change/",
        {"old_password": "wrong", "new_password": "another-long-passphrase"},
        format="json",
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "old_password" in response.json()["errors"]


@pytest.mark.django_db
def test_password_change_needs_authentication(api_client):
    response = api_client.post("/api/v1/auth/password/change/", {})

    assert response.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
@pytest.mark.parametrize("verified", [True, False])
def test_the_session_user_is_the_user_the_orm_loads(user_factory, verified):
    from accounts.selectors import user_for_live_session

    user = user_factory(email_verified=verified, full_name="Zoë")
    session_start(user=user, request=RequestFactory().get("/"))
    session = AuthSession.objects.get(user=user)

    loaded = user_for_live_session(user_id=user.pk, session_id=session.pk)

    expected = User.objects.get(pk=user.pk)
    for field in User._meta.concrete_fields:
        value = getattr(loaded, field.attname)
        assert value == getattr(expected, field.attname), field.name
        assert type(value) is type(getattr(expected, field.attname)), field.name
    assert loaded.email_verified is verified
    assert loaded._state.adding is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    "addresses",
    [
        [("own", True)],
        [("own", False)],
        [("other", True)],  # a verified address, but not the account's email
        [("own", False), ("other", True)],
        [],
    ],
    ids=["verified", "unverified", "other-verified", "mixed", "none"],
)
def test_the_session_sql_agrees_with_the_orms_email_verified(user_factory, addresses):
    from allauth.account.models import EmailAddress

    from accounts.models import verified_addresses
    from accounts.selectors import user_for_live_session

    user = user_factory(email_verified=False)
    EmailAddress.objects.filter(user=user).delete()
    for which, verified in addresses:
        email = user.email if which == "own" else f"other-{user.email}"
        EmailAddress.objects.create(user=user, email=email, verified=verified)
    session = AuthSession.objects.create(
        user=user,
        refresh_jti="j",
        expires_at=timezone.now() + timedelta(days=1),
    )

    loaded = user_for_live_session(user_id=user.pk, session_id=session.pk)

    annotated = User.objects.with_email_verified().get(pk=user.pk).email_verified
    direct = verified_addresses(user=user, email=user.email).exists()
    assert loaded.email_verified is annotated is direct
