"""POST /api/v1/auth/google/ through the real verification, against a local JWKS."""

from __future__ import annotations

import re
import socket
import time
from http import HTTPStatus

import jwt
import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.urls import reverse

from accounts import google as google_module
from accounts import services
from accounts.errors import GoogleUnavailable
from accounts.jwks import JwksKeys
from accounts.models import AccessRequest, User
from accounts.tests.google_keys import JwksServer, SigningKey
from conftest import DEFAULT_PASSWORD
from core.models import ActivityLog

GOOGLE_SUB = "110169484474386276334"
GOOGLE_EMAIL = "gina@gmail.com"
WEB_CLIENT_ID = "web-client-id"
IOS_CLIENT_ID = "ios-client-id"


@pytest.fixture(scope="session")
def google_key() -> SigningKey:
    return SigningKey(kid="google-key-1")


@pytest.fixture
def jwks_server(google_key):
    server = JwksServer([google_key]).start()
    yield server
    server.stop()


@pytest.fixture
def google(settings, monkeypatch, jwks_server) -> JwksServer:
    """Points Google sign-in at the local JWKS server, with a cold key cache."""
    settings.GOOGLE_CERTS_URL = jwks_server.url
    settings.GOOGLE_CLIENT_IDS = [WEB_CLIENT_ID, IOS_CLIENT_ID]
    monkeypatch.setattr(google_module, "_keys", JwksKeys(unavailable=GoogleUnavailable))
    return jwks_server


@pytest.fixture
def google_claims():
    """Google-shaped ID token claims; an override of None leaves that claim out."""

    def make(**overrides) -> dict:
        now = int(time.time())
        claims = {
            "iss": "https://accounts.google.com",
            "azp": WEB_CLIENT_ID,
            "aud": WEB_CLIENT_ID,
            "sub": GOOGLE_SUB,
            "email": GOOGLE_EMAIL,
            "email_verified": True,
            "name": "Gina Google",
            "picture": "https://lh3.googleusercontent.com/a/gina=s96-c",
            "iat": now,
            "exp": now + 3600,
            **overrides,
        }
        return {name: value for name, value in claims.items() if value is not None}

    return make


@pytest.fixture
def id_token(google, google_key, google_claims):
    def make(*, key: SigningKey | None = None, **overrides) -> str:
        return (key or google_key).sign(google_claims(**overrides))

    return make


@pytest.fixture
def google_sign_in(api_client):
    def post(token: str):
        return api_client.post(
            reverse("v1:auth:google"), {"id_token": token}, format="json"
        )

    return post


@pytest.fixture
def linked_user(user_factory) -> User:
    user = user_factory(email=GOOGLE_EMAIL, password=None)
    SocialAccount.objects.create(user=user, provider="google", uid=GOOGLE_SUB)
    return user


def _assert_authentication_failed(response) -> None:
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "authentication_failed"


# --- A first sign-in ---------------------------------------------------------------


@pytest.mark.django_db
def test_first_sign_in_answers_approval_pending(id_token, google_sign_in):
    token = id_token()

    response = google_sign_in(token)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "approval_pending"


@pytest.mark.django_db
def test_first_sign_in_creates_a_pending_google_user(id_token, google_sign_in):
    token = id_token()

    google_sign_in(token)

    user = User.objects.get(email=GOOGLE_EMAIL)
    assert user.status == User.Status.PENDING
    assert user.auth_provider == User.AuthProvider.GOOGLE
    assert not user.has_usable_password()


@pytest.mark.django_db
def test_first_sign_in_opens_an_access_request(id_token, google_sign_in):
    token = id_token()

    google_sign_in(token)

    access_request = AccessRequest.objects.get(user__email=GOOGLE_EMAIL)
    assert access_request.status == AccessRequest.Status.PENDING


@pytest.mark.django_db
def test_first_sign_in_links_the_google_account_by_sub(id_token, google_sign_in):
    token = id_token()

    google_sign_in(token)

    account = SocialAccount.objects.get(provider="google", uid=GOOGLE_SUB)
    assert account.user.email == GOOGLE_EMAIL
    assert account.extra_data["sub"] == GOOGLE_SUB


@pytest.mark.django_db
def test_first_sign_in_fills_name_and_avatar_from_the_token(id_token, google_sign_in):
    token = id_token()

    google_sign_in(token)

    user = User.objects.get(email=GOOGLE_EMAIL)
    assert user.full_name == "Gina Google"
    assert user.avatar_url == "https://lh3.googleusercontent.com/a/gina=s96-c"


@pytest.mark.django_db
def test_first_sign_in_marks_the_email_verified(id_token, google_sign_in):
    token = id_token()

    google_sign_in(token)

    assert EmailAddress.objects.filter(email=GOOGLE_EMAIL, verified=True).exists()


@pytest.mark.django_db
def test_signing_in_again_while_pending_keeps_one_access_request(
    id_token, google_sign_in
):
    google_sign_in(id_token())

    response = google_sign_in(id_token())

    assert response.json()["code"] == "approval_pending"
    assert AccessRequest.objects.filter(user__email=GOOGLE_EMAIL).count() == 1


@pytest.mark.django_db
def test_open_signup_signs_a_new_google_user_in_at_once(
    settings, id_token, google_sign_in
):
    settings.SIGNUP_MODE = "open"
    token = id_token()

    response = google_sign_in(token)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["user"]["status"] == User.Status.APPROVED
    assert not AccessRequest.objects.filter(user__email=GOOGLE_EMAIL).exists()


@pytest.mark.django_db
def test_closed_signup_refuses_a_new_google_user(settings, id_token, google_sign_in):
    settings.SIGNUP_MODE = "closed"
    token = id_token()

    response = google_sign_in(token)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "permission_denied"
    assert not User.objects.filter(email=GOOGLE_EMAIL).exists()


@pytest.mark.django_db
def test_closed_signup_still_signs_in_a_linked_user(
    settings, linked_user, id_token, google_sign_in
):
    settings.SIGNUP_MODE = "closed"
    token = id_token()

    response = google_sign_in(token)

    assert response.status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_first_admin_email_via_google_is_signed_in_as_approved_admin(
    settings, id_token, google_sign_in
):
    settings.FIRST_ADMIN_EMAIL = GOOGLE_EMAIL
    token = id_token()

    response = google_sign_in(token)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["user"]["status"] == User.Status.APPROVED
    assert body["user"]["role"] == User.Role.ADMIN
    assert body["user"]["is_admin"] is True


@pytest.mark.django_db
def test_first_admin_email_via_google_opens_no_access_request(
    settings,
    admin_user,
    id_token,
    google_sign_in,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    settings.FIRST_ADMIN_EMAIL = GOOGLE_EMAIL
    token = id_token()

    with django_capture_on_commit_callbacks(execute=True):
        google_sign_in(token)

    assert not AccessRequest.objects.filter(user__email=GOOGLE_EMAIL).exists()
    assert mailoutbox == []


@pytest.mark.django_db
def test_first_admin_rule_firing_via_google_is_audited(
    settings, id_token, google_sign_in
):
    settings.FIRST_ADMIN_EMAIL = GOOGLE_EMAIL

    google_sign_in(id_token())

    user = User.objects.get(email=GOOGLE_EMAIL)
    entry = ActivityLog.objects.get(action="user.first_admin_applied")
    assert (entry.target_type, entry.target_id) == ("user", str(user.pk))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"status": "disabled"}, "account_disabled"),
        ({"status": "rejected"}, "access_rejected"),
        ({"role": "user"}, None),
    ],
)
def test_an_admins_decision_on_the_first_admin_stands_at_the_next_google_sign_in(
    settings, id_token, google_sign_in, admin_user, auth_client, change, refusal
):
    settings.FIRST_ADMIN_EMAIL = GOOGLE_EMAIL
    google_sign_in(id_token())
    first = User.objects.get(email=GOOGLE_EMAIL)
    auth_client(admin_user).patch(
        reverse("v1:admin-api:admin-user-detail", args=[first.pk]),
        change,
        format="json",
    )
    before = (User.objects.get(pk=first.pk).status, User.objects.get(pk=first.pk).role)

    response = google_sign_in(id_token())

    first.refresh_from_db()
    assert (first.status, first.role) == before
    if refusal:
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert response.json()["code"] == refusal
    else:
        assert response.json()["user"]["role"] == "user"
    assert ActivityLog.objects.filter(action="user.first_admin_applied").count() == 1


@pytest.mark.django_db
def test_first_admin_rule_skips_an_existing_account_an_admin_rejected(
    settings, user_factory, id_token, google_sign_in
):
    settings.FIRST_ADMIN_EMAIL = GOOGLE_EMAIL
    user = user_factory(email=GOOGLE_EMAIL, status=User.Status.PENDING)
    request = services.access_request_open(user=user, reason="")
    services.access_request_reject(access_request=request, decided_by=None)

    response = google_sign_in(id_token())

    assert response.json()["code"] == "access_rejected"
    user.refresh_from_db()
    assert (user.status, user.role) == ("rejected", "user")


@pytest.mark.django_db
def test_first_sign_in_notifies_the_admins(
    admin_user,
    id_token,
    google_sign_in,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    token = id_token()

    with django_capture_on_commit_callbacks(execute=True):
        google_sign_in(token)

    assert [message.to for message in mailoutbox] == [[admin_user.email]]
    assert GOOGLE_EMAIL in mailoutbox[0].subject


# --- A linked, approved user ---------------------------------------------------------


@pytest.mark.django_db
def test_linked_approved_user_gets_tokens_and_the_user(
    linked_user, id_token, google_sign_in
):
    token = id_token()

    response = google_sign_in(token)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["access"]
    assert body["refresh"]
    assert body["user"]["id"] == str(linked_user.pk)
    assert body["user"]["email_verified"] is True


@pytest.mark.django_db
def test_google_access_token_works_on_me(
    api_client, linked_user, id_token, google_sign_in
):
    tokens = google_sign_in(id_token()).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    response = api_client.get(reverse("v1:auth:me"))

    assert response.status_code == HTTPStatus.OK
    assert response.json()["email"] == GOOGLE_EMAIL


@pytest.mark.django_db
def test_token_for_the_second_client_id_is_accepted(
    linked_user, id_token, google_sign_in
):
    token = id_token(aud=IOS_CLIENT_ID, azp=IOS_CLIENT_ID)

    response = google_sign_in(token)

    assert response.status_code == HTTPStatus.OK


@pytest.mark.django_db
@pytest.mark.parametrize(
    "issuer", ["accounts.google.com", "https://accounts.google.com"]
)
def test_both_google_issuer_spellings_are_accepted(
    linked_user, id_token, google_sign_in, issuer
):
    token = id_token(iss=issuer)

    response = google_sign_in(token)

    assert response.status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_linked_account_whose_google_email_changed_maps_to_the_same_user(
    linked_user, id_token, google_sign_in
):
    token = id_token(email="gina.renamed@gmail.com")

    response = google_sign_in(token)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["user"]["id"] == str(linked_user.pk)
    assert not User.objects.filter(email="gina.renamed@gmail.com").exists()


@pytest.mark.django_db
def test_rejected_linked_user_gets_access_rejected(
    user_factory, id_token, google_sign_in
):
    user = user_factory(email=GOOGLE_EMAIL, status=User.Status.REJECTED)
    SocialAccount.objects.create(user=user, provider="google", uid=GOOGLE_SUB)
    token = id_token()

    response = google_sign_in(token)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "access_rejected"


# --- An existing password account with the same email ---------------------------------


@pytest.mark.django_db
def test_confirmed_password_account_is_joined_not_duplicated(
    user_factory, id_token, google_sign_in
):
    user = user_factory(email=GOOGLE_EMAIL, email_verified=True)
    token = id_token()

    response = google_sign_in(token)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["user"]["id"] == str(user.pk)
    assert SocialAccount.objects.get(provider="google", uid=GOOGLE_SUB).user == user
    assert User.objects.filter(email=GOOGLE_EMAIL).count() == 1


@pytest.mark.django_db
def test_joined_confirmed_account_keeps_its_password(
    user_factory, id_token, google_sign_in, sign_in
):
    user = user_factory(email=GOOGLE_EMAIL, email_verified=True)
    google_sign_in(id_token())

    tokens = sign_in(user)

    assert tokens["access"]


@pytest.mark.django_db
def test_joined_confirmed_account_keeps_its_sessions(
    user_factory, auth_client, id_token, google_sign_in
):
    user = user_factory(email=GOOGLE_EMAIL, email_verified=True)
    client = auth_client(user)
    google_sign_in(id_token())

    response = client.get(reverse("v1:auth:me"))

    assert response.status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_unconfirmed_account_loses_its_password_to_the_google_owner(
    api_client, user_factory, id_token, google_sign_in
):
    user = user_factory(email=GOOGLE_EMAIL, email_verified=False)
    google_sign_in(id_token())

    response = api_client.post(
        reverse("v1:auth:login"),
        {"email": user.email, "password": DEFAULT_PASSWORD},
        format="json",
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "invalid_credentials"
    user.refresh_from_db()
    assert not user.has_usable_password()


@pytest.mark.django_db
def test_unconfirmed_account_sessions_end_when_the_google_owner_signs_in(
    user_factory, auth_client, id_token, google_sign_in
):
    user = user_factory(email=GOOGLE_EMAIL, email_verified=False)
    squatter = auth_client(user)
    google_sign_in(id_token())

    response = squatter.get(reverse("v1:auth:me"))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.django_db
def test_unconfirmed_account_is_signed_in_for_the_google_owner(
    user_factory, id_token, google_sign_in
):
    user = user_factory(email=GOOGLE_EMAIL, email_verified=False)
    token = id_token()

    response = google_sign_in(token)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["user"]["id"] == str(user.pk)
    assert response.json()["user"]["email_verified"] is True


@pytest.mark.django_db
def test_a_password_set_before_the_address_was_confirmed_is_dropped_on_the_google_join(
    api_client, id_token, google_sign_in, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(
            reverse("v1:auth:register"),
            {"email": GOOGLE_EMAIL, "password": "squatters-own-passphrase"},
            format="json",
        )
    key = re.search(r"/confirm-email/(\S+?)/", mailoutbox[0].body).group(1)
    api_client.post(reverse("v1:auth:email-confirm"), {"key": key}, format="json")
    user = User.objects.get(email=GOOGLE_EMAIL)
    services.user_update(user=user, status=User.Status.APPROVED)
    squatter = api_client.post(
        reverse("v1:auth:login"),
        {"email": GOOGLE_EMAIL, "password": "squatters-own-passphrase"},
        format="json",
    ).json()

    google_sign_in(id_token())

    user.refresh_from_db()
    assert not user.has_usable_password()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {squatter['access']}")
    assert api_client.get(reverse("v1:auth:me")).status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_a_password_changed_after_confirmation_survives_the_google_join(
    api_client, user_factory, auth_client, id_token, google_sign_in, sign_in
):
    user = user_factory(email=GOOGLE_EMAIL, email_verified=True)
    User.objects.filter(pk=user.pk).update(password_unproven=True)
    auth_client(user).post(
        reverse("v1:auth:password-change"),
        {"old_password": DEFAULT_PASSWORD, "new_password": "a-new-proven-passphrase"},
        format="json",
    )

    google_sign_in(id_token())

    assert sign_in(user, password="a-new-proven-passphrase")["access"]


@pytest.mark.django_db
def test_a_password_set_elsewhere_after_confirmation_survives_the_google_join(
    user_factory, id_token, google_sign_in, sign_in
):
    # The admin's form, allauth's pages and `changepassword` all end in set_password().
    user = user_factory(email=GOOGLE_EMAIL, email_verified=True)
    User.objects.filter(pk=user.pk).update(password_unproven=True)
    user.refresh_from_db()
    user.set_password("set-in-a-shell-passphrase")
    user.save()

    google_sign_in(id_token())

    assert sign_in(user, password="set-in-a-shell-passphrase")["access"]


# --- Tokens that are refused -----------------------------------------------------------


@pytest.mark.django_db
def test_expired_token_is_refused(linked_user, id_token, google_sign_in):
    past = int(time.time()) - 7200
    token = id_token(iat=past, exp=past + 3600)

    response = google_sign_in(token)

    _assert_authentication_failed(response)


@pytest.mark.django_db
def test_token_without_expiry_is_refused(linked_user, id_token, google_sign_in):
    token = id_token(exp=None)

    response = google_sign_in(token)

    _assert_authentication_failed(response)


@pytest.mark.django_db
def test_token_for_another_audience_is_refused(linked_user, id_token, google_sign_in):
    token = id_token(aud="someone-elses-client-id")

    response = google_sign_in(token)

    _assert_authentication_failed(response)


@pytest.mark.django_db
def test_token_from_another_issuer_is_refused(linked_user, id_token, google_sign_in):
    token = id_token(iss="https://evil.example.com")

    response = google_sign_in(token)

    _assert_authentication_failed(response)


@pytest.mark.django_db
def test_token_signed_by_another_key_with_the_same_kid_is_refused(
    linked_user, google_key, id_token, google_sign_in
):
    impostor = SigningKey(kid=google_key.kid)
    token = id_token(key=impostor)

    response = google_sign_in(token)

    _assert_authentication_failed(response)


@pytest.mark.django_db
def test_token_signed_with_an_unknown_key_id_is_refused(
    linked_user, id_token, google_sign_in
):
    token = id_token(key=SigningKey(kid="not-published"))

    response = google_sign_in(token)

    _assert_authentication_failed(response)


@pytest.mark.django_db
@pytest.mark.parametrize("email_verified", [False, "false", None])
def test_token_with_an_unverified_email_is_refused(
    id_token, google_sign_in, email_verified
):
    token = id_token(email_verified=email_verified)

    response = google_sign_in(token)

    _assert_authentication_failed(response)
    assert not User.objects.filter(email=GOOGLE_EMAIL).exists()


@pytest.mark.django_db
def test_unsigned_token_is_refused(
    linked_user, google, google_key, google_claims, google_sign_in
):
    token = jwt.encode(
        google_claims(), None, algorithm="none", headers={"kid": google_key.kid}
    )

    response = google_sign_in(token)

    _assert_authentication_failed(response)


@pytest.mark.django_db
def test_garbage_token_is_refused(google, google_sign_in):
    token = "not.a-jwt"

    response = google_sign_in(token)

    _assert_authentication_failed(response)


@pytest.mark.django_db
def test_missing_id_token_answers_invalid(google, api_client):
    body: dict = {}

    response = api_client.post(reverse("v1:auth:google"), body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid"
    assert "id_token" in response.json()["errors"]


@pytest.mark.django_db
def test_unconfigured_google_sign_in_is_refused(
    settings, linked_user, id_token, google_sign_in
):
    settings.GOOGLE_CLIENT_IDS = []
    token = id_token()

    response = google_sign_in(token)

    _assert_authentication_failed(response)


@pytest.mark.django_db
def test_unreachable_google_keys_answer_service_unavailable(
    settings, linked_user, id_token, google_sign_in
):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.GOOGLE_CERTS_URL = f"http://127.0.0.1:{closed_port}/oauth2/v3/certs"
    token = id_token()

    response = google_sign_in(token)

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["code"] == "service_unavailable"
    assert int(response["Retry-After"]) >= 1  # docs/API.md promises it with 503


# --- Key caching ----------------------------------------------------------------------


@pytest.mark.django_db
def test_google_keys_are_fetched_once_for_two_sign_ins(
    linked_user, google, id_token, google_sign_in
):
    google_sign_in(id_token())

    response = google_sign_in(id_token())

    assert response.status_code == HTTPStatus.OK
    assert google.fetches == 1


@pytest.mark.django_db
def test_a_rotated_google_key_is_accepted_after_one_refetch(
    linked_user, google, id_token, google_sign_in
):
    assert google_sign_in(id_token()).status_code == HTTPStatus.OK
    rotated = SigningKey(kid="google-key-2")
    google.keys = [*google.keys, rotated]

    response = google_sign_in(id_token(key=rotated))

    assert response.status_code == HTTPStatus.OK
    assert google.fetches == 2


@pytest.mark.django_db
def test_a_few_seconds_of_clock_skew_are_tolerated(
    linked_user, id_token, google_sign_in
):
    ahead = int(time.time()) + 5  # Google's clock a little ahead of ours
    token = id_token(iat=ahead, exp=ahead + 3600)

    response = google_sign_in(token)

    assert response.status_code == HTTPStatus.OK
