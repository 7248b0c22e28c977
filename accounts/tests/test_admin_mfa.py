"""The Django admin's login asks for the second factor (allauth.mfa's stage), and
MFA_REQUIRED_FOR_ADMINS sends an admin without one to enrol before the admin."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from allauth.core import context as allauth_context
from allauth.mfa.models import Authenticator
from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from allauth.socialaccount.helpers import complete_social_login
from allauth.socialaccount.models import SocialAccount, SocialLogin
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import Client

from accounts import mfa
from accounts.models import User
from accounts.tests.totp_clock import NOW, code_at, frozen_totp_clock  # noqa: F401
from conftest import DEFAULT_PASSWORD
from core.models import ActivityLog

ADMIN_LOGIN = "/admin/login/"
AUTHENTICATE = "/accounts/2fa/authenticate/"
ACTIVATE = "/accounts/2fa/totp/activate/"
ADD_PASSKEY = "/accounts/2fa/webauthn/add/"
DEACTIVATE = "/accounts/2fa/totp/deactivate/"
REAUTHENTICATE = "/accounts/reauthenticate/"


@pytest.fixture
def enrolled_admin(admin_user) -> tuple[User, str, list[str]]:
    """An admin with TOTP on: (admin, secret, recovery codes)."""
    secret = mfa.totp_start(user=admin_user)["secret"]
    codes = mfa.totp_confirm(user=admin_user, code=code_at(secret))
    return admin_user, secret, codes


def password_step(client: Client, user: User, next_url: str = "/admin/"):
    return client.post(
        f"{ADMIN_LOGIN}?next={next_url}",
        {"username": user.email, "password": DEFAULT_PASSWORD, "next": next_url},
    )


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def entries(action: str):
    return list(ActivityLog.objects.filter(action=action).order_by("id"))


@pytest.mark.django_db
def test_a_right_password_of_an_admin_with_totp_asks_for_the_code(
    client, enrolled_admin
):
    admin, _, _ = enrolled_admin

    response = password_step(client, admin)

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == AUTHENTICATE
    assert not signed_in(client)


@pytest.mark.django_db
def test_the_admin_stays_closed_while_the_code_is_awaited(client, enrolled_admin):
    password_step(client, enrolled_admin[0])

    response = client.get("/admin/")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(ADMIN_LOGIN)


@pytest.mark.django_db
def test_the_code_page_renders_in_the_admins_look(client, enrolled_admin):
    password_step(client, enrolled_admin[0])

    response = client.get(AUTHENTICATE)

    assert response.status_code == HTTPStatus.OK
    assert b"Gatehouse administration" in response.content
    assert b'name="code"' in response.content


@pytest.mark.django_db
def test_the_right_code_signs_in_and_opens_the_admin_page_asked_for(
    client, enrolled_admin
):
    admin, secret, _ = enrolled_admin
    password_step(client, admin, next_url="/admin/accounts/user/")

    response = client.post(AUTHENTICATE, {"code": code_at(secret)})

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/admin/accounts/user/"
    assert client.session["_auth_user_id"] == str(admin.pk)
    assert client.get("/admin/").status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_a_recovery_code_signs_in_too(client, enrolled_admin):
    admin, _, recovery_codes = enrolled_admin
    password_step(client, admin)

    response = client.post(AUTHENTICATE, {"code": recovery_codes[0]})

    assert response["Location"] == "/admin/"
    assert signed_in(client)


@pytest.mark.django_db
def test_a_wrong_code_is_refused_and_audited(client, enrolled_admin):
    admin, secret, _ = enrolled_admin
    password_step(client, admin)

    response = client.post(AUTHENTICATE, {"code": code_at(secret, steps_ago=5)})

    assert response.status_code == HTTPStatus.OK
    assert b"Incorrect code" in response.content
    assert not signed_in(client)
    (entry,) = entries(ActivityLog.Action.SIGN_IN_FAILED)
    assert (entry.actor, entry.metadata) == (
        admin,
        {"method": "mfa", "reason": "invalid_code", "email": admin.email},
    )


@pytest.mark.django_db
def test_a_sign_in_with_the_second_factor_is_audited_as_the_api_names_it(
    client, enrolled_admin
):
    admin, secret, _ = enrolled_admin
    password_step(client, admin)

    client.post(AUTHENTICATE, {"code": code_at(secret)})

    (entry,) = entries(ActivityLog.Action.SIGN_IN_SUCCEEDED)
    assert (entry.actor, entry.metadata) == (
        admin,
        {"method": "password+mfa", "via": "web"},
    )


@pytest.mark.django_db
def test_an_admin_without_mfa_signs_in_with_the_password_alone_and_is_audited(
    client, admin_user
):
    response = password_step(client, admin_user)

    assert response["Location"] == "/admin/"
    assert signed_in(client)
    (entry,) = entries(ActivityLog.Action.SIGN_IN_SUCCEEDED)
    assert entry.metadata == {"method": "password", "via": "web"}


@pytest.mark.django_db
def test_wrong_codes_are_throttled_even_before_a_right_one(
    client, enrolled_admin, settings
):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "mfa_verify": "2/minute"}
    admin, secret, _ = enrolled_admin
    password_step(client, admin)
    for steps_ago in (5, 6):
        client.post(AUTHENTICATE, {"code": code_at(secret, steps_ago=steps_ago)})

    response = client.post(AUTHENTICATE, {"code": code_at(secret)})

    assert b"Too many codes tried" in response.content
    assert not signed_in(client)


@pytest.mark.django_db
def test_a_forged_passkey_answer_is_refused_and_audited(client, enrolled_admin):
    admin, _, _ = enrolled_admin
    password_step(client, admin)

    client.post(AUTHENTICATE, {"credential": '{"id": "forged", "response": {}}'})

    assert not signed_in(client)
    (entry,) = entries(ActivityLog.Action.SIGN_IN_FAILED)
    assert entry.metadata == {
        "method": "mfa",
        "reason": "invalid_code",
        "email": admin.email,
    }


@pytest.mark.django_db
def test_passkey_tries_are_throttled_on_the_counter_of_codes(
    client, enrolled_admin, settings
):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "mfa_verify": "2/minute"}
    admin, secret, _ = enrolled_admin
    password_step(client, admin)
    for steps_ago in (5, 6):
        client.post(AUTHENTICATE, {"code": code_at(secret, steps_ago=steps_ago)})

    client.post(AUTHENTICATE, {"credential": '{"id": "forged", "response": {}}'})

    # Refused before the answer is even checked: no third failed try on record.
    assert not signed_in(client)
    assert len(entries(ActivityLog.Action.SIGN_IN_FAILED)) == 2


@pytest.mark.django_db
def test_code_tries_over_the_api_count_against_the_admin_form(
    client, api_client, enrolled_admin, settings
):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "mfa_verify": "2/minute"}
    admin, secret, _ = enrolled_admin
    token = api_client.post(
        "/api/v1/auth/login/",
        {"email": admin.email, "password": DEFAULT_PASSWORD},
        format="json",
    ).json()["mfa_token"]
    for _ in range(2):
        api_client.post(
            "/api/v1/auth/mfa/verify/",
            {"mfa_token": token, "code": "000000"},
            format="json",
        )
    password_step(client, admin)

    response = client.post(AUTHENTICATE, {"code": code_at(secret)})

    assert b"Too many codes tried" in response.content
    assert not signed_in(client)


# --- MFA_REQUIRED_FOR_ADMINS: enrol first ----------------------------------------


@pytest.fixture
def mfa_required(settings):
    settings.MFA_REQUIRED_FOR_ADMINS = True


@pytest.mark.django_db
@pytest.mark.usefixtures("mfa_required")
@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/accounts/user/", "/admin/accounts/accessrequest/"]
)
def test_an_admin_without_mfa_is_sent_to_enrol_from_every_admin_page(
    client, admin_user, path
):
    password_step(client, admin_user)

    response = client.get(path)

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == ACTIVATE


@pytest.mark.django_db
@pytest.mark.usefixtures("mfa_required")
def test_an_admin_who_must_enrol_can_still_log_out(client, admin_user):
    password_step(client, admin_user)

    response = client.post("/admin/logout/")

    assert response.status_code == HTTPStatus.OK
    assert not signed_in(client)


@pytest.mark.django_db
def test_without_the_setting_an_admin_without_mfa_opens_the_admin(
    client, admin_user, settings
):
    settings.MFA_REQUIRED_FOR_ADMINS = False
    password_step(client, admin_user)

    assert client.get("/admin/").status_code == HTTPStatus.OK


@pytest.mark.django_db
@pytest.mark.usefixtures("mfa_required")
def test_an_admin_with_mfa_opens_the_admin(client, enrolled_admin):
    admin, secret, _ = enrolled_admin
    password_step(client, admin)
    client.post(AUTHENTICATE, {"code": code_at(secret)})

    assert client.get("/admin/").status_code == HTTPStatus.OK


@pytest.mark.django_db
@pytest.mark.usefixtures("mfa_required")
def test_after_enrolling_on_allauths_pages_the_admin_opens_and_it_is_audited(
    client, admin_user, django_capture_on_commit_callbacks
):
    password_step(client, admin_user)
    # allauth asks for the password again before a second factor is added.
    reauthenticate = client.get(ACTIVATE)
    assert reauthenticate["Location"].startswith(REAUTHENTICATE)
    client.post(reauthenticate["Location"], {"password": DEFAULT_PASSWORD})
    secret = client.get(ACTIVATE).context["form"].secret

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ACTIVATE, {"code": code_at(secret)})

    assert response.status_code == HTTPStatus.FOUND
    assert client.get("/admin/").status_code == HTTPStatus.OK
    (entry,) = entries(ActivityLog.Action.MFA_ENABLED)
    assert (entry.actor, entry.metadata) == (admin_user, {"type": "totp", "via": "web"})


@pytest.mark.django_db
def test_removing_totp_on_allauths_pages_is_audited(
    client, enrolled_admin, django_capture_on_commit_callbacks
):
    admin, secret, _ = enrolled_admin
    password_step(client, admin)
    client.post(AUTHENTICATE, {"code": code_at(secret)})
    deactivate = client.post(DEACTIVATE)
    assert deactivate["Location"].startswith(REAUTHENTICATE)
    client.post(deactivate["Location"], {"password": DEFAULT_PASSWORD})

    with django_capture_on_commit_callbacks(execute=True):
        client.post(DEACTIVATE)

    assert not mfa.user_has_mfa(admin)
    (entry,) = entries(ActivityLog.Action.MFA_DISABLED)
    assert (entry.actor, entry.metadata) == (admin, {"type": "totp", "via": "web"})


# --- The admin's "Sign in with Google" passes the same stage ---------------------


def _google_callback(request_factory, settings, *, uid: str):
    """allauth's Google callback once Google has answered: what follows the token
    exchange (the network edge), run on a fresh browser session."""
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {"APPS": [{"client_id": "web-client-id", "secret": "s3cret"}]}
    }
    request = request_factory.get("/accounts/google/login/callback/")
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    request.user = AnonymousUser()
    request._messages = FallbackStorage(request)
    provider = get_social_adapter().get_provider(request, "google")
    sociallogin = SocialLogin(
        account=SocialAccount(provider="google", uid=uid), provider=provider
    )
    sociallogin.state = {"process": "login", "next": "/admin/"}
    with allauth_context.request_context(request):
        response = complete_social_login(request, sociallogin)
    request.session.save()
    return request, response


@pytest.mark.django_db
def test_a_google_sign_in_of_an_admin_with_totp_asks_for_the_code_too(
    client, rf, settings, enrolled_admin
):
    admin, secret, _ = enrolled_admin
    SocialAccount.objects.create(user=admin, provider="google", uid="google-ada")

    request, response = _google_callback(rf, settings, uid="google-ada")

    assert response["Location"] == AUTHENTICATE
    assert "_auth_user_id" not in request.session
    client.cookies[settings.SESSION_COOKIE_NAME] = request.session.session_key
    assert client.post(AUTHENTICATE, {"code": code_at(secret)})["Location"] == "/admin/"
    assert client.session["_auth_user_id"] == str(admin.pk)
    (entry,) = entries(ActivityLog.Action.SIGN_IN_SUCCEEDED)
    assert entry.metadata == {"method": "google+mfa", "via": "web"}


@pytest.mark.django_db
def test_an_admin_with_only_a_passkey_is_asked_for_the_second_factor_by_the_api(
    api_client, admin_user
):
    Authenticator.objects.create(
        user=admin_user, type=Authenticator.Type.WEBAUTHN, data={}
    )

    response = api_client.post(
        "/api/v1/auth/login/",
        {"email": admin_user.email, "password": DEFAULT_PASSWORD},
        format="json",
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "mfa_required"


@pytest.mark.django_db
def test_a_malformed_passkey_on_the_add_page_is_refused_not_a_server_error(
    client, enrolled_admin
):
    admin, secret, _ = enrolled_admin
    password_step(client, admin)
    client.post(AUTHENTICATE, {"code": code_at(secret)})
    reauthenticate = client.get(ADD_PASSKEY)
    if reauthenticate.status_code == HTTPStatus.FOUND:
        client.post(reauthenticate["Location"], {"password": DEFAULT_PASSWORD})
        client.get(ADD_PASSKEY)  # the page starts the ceremony

    response = client.post(
        ADD_PASSKEY, {"name": "key", "credential": '{"id": "forged", "response": {}}'}
    )

    assert response.status_code == HTTPStatus.OK
    assert not Authenticator.objects.filter(
        user=admin, type=Authenticator.Type.WEBAUTHN
    ).exists()
