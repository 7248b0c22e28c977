"""Two-factor sign-in over the API: TOTP enrolment, recovery codes, mfa_required."""

import re
import time
import types
from http import HTTPStatus

import pytest
from django.core import signing

from accounts.models import User
from accounts.tests.audit_entries import assert_about, assert_holds_none_of, only_entry
from accounts.tests.totp_clock import NOW, code_at, frozen_totp_clock  # noqa: F401
from conftest import DEFAULT_PASSWORD
from core.models import ActivityLog

MFA = "/api/v1/auth/mfa/"
TOTP = "/api/v1/auth/mfa/totp/"
CONFIRM = "/api/v1/auth/mfa/totp/confirm/"
VERIFY = "/api/v1/auth/mfa/verify/"
LOGIN = "/api/v1/auth/login/"
ME = "/api/v1/auth/me/"


@pytest.fixture
def enrolled(auth_client, approved_user):
    """The approved user with TOTP on: (client, secret, recovery codes)."""
    client = auth_client(approved_user)
    secret = client.post(TOTP).json()["secret"]
    response = client.post(CONFIRM, {"code": code_at(secret)}, format="json")
    assert response.status_code == HTTPStatus.OK, response.content
    return client, secret, response.json()["recovery_codes"]


def login(api_client, user: User):
    return api_client.post(
        LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    )


def mfa_token_of(api_client, user: User) -> str:
    response = login(api_client, user)
    assert response.status_code == HTTPStatus.UNAUTHORIZED, response.content
    return response.json()["mfa_token"]


@pytest.mark.django_db
def test_start_answers_a_secret_its_provisioning_uri_and_a_qr_svg(
    auth_client, approved_user
):
    body = auth_client(approved_user).post(TOTP).json()

    assert len(body["secret"]) == 32
    assert body["otpauth_uri"].startswith("otpauth://totp/person")
    assert "issuer=Gatehouse" in body["otpauth_uri"]
    assert f"secret={body['secret']}" in body["otpauth_uri"]
    assert "<svg" in body["qr_svg"]


@pytest.mark.django_db
def test_a_started_but_unconfirmed_secret_leaves_sign_in_as_it_was(
    api_client, auth_client, approved_user
):
    client = auth_client(approved_user)
    client.post(TOTP)

    assert client.get(MFA).json() == []
    assert login(api_client, approved_user).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_confirm_with_a_wrong_code_answers_invalid_code(auth_client, approved_user):
    client = auth_client(approved_user)
    secret = client.post(TOTP).json()["secret"]

    response = client.post(
        CONFIRM, {"code": code_at(secret, steps_ago=5)}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid_code"
    assert client.get(MFA).json() == []


@pytest.mark.django_db
def test_confirm_without_a_started_secret_answers_invalid_code(
    auth_client, approved_user
):
    response = auth_client(approved_user).post(
        CONFIRM, {"code": "123456"}, format="json"
    )

    assert response.json()["code"] == "invalid_code"


@pytest.mark.django_db
def test_confirm_answers_ten_distinct_recovery_codes_and_audits(enrolled):
    _, _, codes = enrolled

    assert len(set(codes)) == 10
    assert (
        ActivityLog.objects.filter(action=ActivityLog.Action.MFA_ENABLED).count() == 1
    )


@pytest.mark.django_db
def test_list_shows_types_and_dates_never_secrets(enrolled):
    client, secret, codes = enrolled

    response = client.get(MFA)

    assert [a["type"] for a in response.json()] == ["totp", "recovery_codes"]
    assert response.json()[1]["unused_codes"] == 10
    assert all(a["created_at"] and a["last_used_at"] is None for a in response.json())
    assert secret not in response.content.decode()
    assert codes[0] not in response.content.decode()


@pytest.mark.django_db
def test_starting_again_while_enrolled_answers_409(enrolled):
    client, _, _ = enrolled

    response = client.post(TOTP)

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["code"] == "mfa_already_enabled"


@pytest.mark.django_db
def test_password_sign_in_of_an_enrolled_user_answers_mfa_required(
    api_client, enrolled, approved_user
):
    response = login(api_client, approved_user)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    body = response.json()
    assert body["code"] == "mfa_required"
    assert body["mfa_token"]
    assert "access" not in body
    assert "refresh" not in body


@pytest.mark.django_db
def test_the_mfa_token_is_not_a_bearer_token(api_client, enrolled, approved_user):
    token = mfa_token_of(api_client, approved_user)

    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_a_status_refusal_comes_before_the_second_factor(
    api_client, enrolled, approved_user
):
    User.objects.filter(pk=approved_user.pk).update(status=User.Status.DISABLED)

    response = login(api_client, approved_user)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "account_disabled"


@pytest.mark.django_db
def test_verify_with_a_totp_code_answers_the_sign_in_body(
    api_client, enrolled, approved_user
):
    _, secret, _ = enrolled
    token = mfa_token_of(api_client, approved_user)

    response = api_client.post(
        VERIFY, {"mfa_token": token, "code": code_at(secret)}, format="json"
    )

    assert response.status_code == HTTPStatus.OK, response.content
    body = response.json()
    assert body["user"]["email"] == approved_user.email
    me = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert me.status_code == HTTPStatus.OK
    entry = ActivityLog.objects.filter(
        action=ActivityLog.Action.SIGN_IN_SUCCEEDED
    ).first()
    assert entry.metadata["method"] == "password+mfa"


@pytest.mark.django_db
def test_an_mfa_token_signs_in_once(api_client, enrolled, approved_user):
    _, _, codes = enrolled
    token = mfa_token_of(api_client, approved_user)
    first = api_client.post(VERIFY, {"mfa_token": token, "code": codes[0]})

    again = api_client.post(VERIFY, {"mfa_token": token, "code": codes[1]})

    assert first.status_code == HTTPStatus.OK
    assert again.status_code == HTTPStatus.BAD_REQUEST
    assert again.json()["code"] == "invalid_code"


@pytest.mark.django_db
def test_a_recovery_code_signs_in_once(api_client, enrolled, approved_user):
    client, _, codes = enrolled
    first = api_client.post(
        VERIFY, {"mfa_token": mfa_token_of(api_client, approved_user), "code": codes[3]}
    )

    again = api_client.post(
        VERIFY, {"mfa_token": mfa_token_of(api_client, approved_user), "code": codes[3]}
    )

    assert first.status_code == HTTPStatus.OK
    assert again.json()["code"] == "invalid_code"
    recovery = client.get(MFA).json()[1]
    assert recovery["unused_codes"] == 9
    assert recovery["last_used_at"] is not None


@pytest.mark.django_db
def test_a_wrong_code_is_refused_audited_and_leaves_the_token_live(
    api_client, enrolled, approved_user
):
    _, secret, _ = enrolled
    token = mfa_token_of(api_client, approved_user)

    wrong = api_client.post(
        VERIFY, {"mfa_token": token, "code": code_at(secret, steps_ago=3)}
    )
    right = api_client.post(VERIFY, {"mfa_token": token, "code": code_at(secret)})

    assert wrong.status_code == HTTPStatus.BAD_REQUEST
    assert wrong.json()["code"] == "invalid_code"
    assert right.status_code == HTTPStatus.OK
    failed = ActivityLog.objects.get(action=ActivityLog.Action.SIGN_IN_FAILED)
    assert failed.metadata["method"] == "mfa"
    assert failed.metadata["reason"] == "invalid_code"
    assert failed.actor_id == approved_user.pk


@pytest.mark.django_db
def test_an_expired_mfa_token_answers_invalid_code(
    api_client, enrolled, approved_user, monkeypatch
):
    _, secret, _ = enrolled
    token = mfa_token_of(api_client, approved_user)
    later = time.time() + 301
    monkeypatch.setattr(signing, "time", types.SimpleNamespace(time=lambda: later))

    response = api_client.post(VERIFY, {"mfa_token": token, "code": code_at(secret)})

    assert response.json()["code"] == "invalid_code"


@pytest.mark.django_db
def test_a_forged_mfa_token_answers_invalid_code(api_client, enrolled):
    _, secret, _ = enrolled

    response = api_client.post(
        VERIFY, {"mfa_token": "made-up:token:x", "code": code_at(secret)}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid_code"


@pytest.mark.django_db
def test_wrong_codes_are_throttled_per_user_across_tokens(
    api_client, enrolled, approved_user, settings
):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "mfa_verify": "3/minute"}
    first = mfa_token_of(api_client, approved_user)
    second = mfa_token_of(api_client, approved_user)
    statuses = [
        api_client.post(VERIFY, {"mfa_token": first, "code": "000000"}).status_code
        for _ in range(3)
    ]

    response = api_client.post(VERIFY, {"mfa_token": second, "code": "000000"})

    assert statuses == [HTTPStatus.BAD_REQUEST] * 3
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS


@pytest.mark.django_db
def test_wrong_codes_are_throttled_per_ip(api_client, enrolled, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "signin_ip": "2/minute"}
    for _ in range(2):
        api_client.post(VERIFY, {"mfa_token": "x", "code": "000000"})

    response = api_client.post(VERIFY, {"mfa_token": "x", "code": "000000"})

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS


@pytest.mark.django_db
def test_verify_in_refresh_cookie_mode_sets_the_cookie(
    api_client, enrolled, approved_user, settings
):
    settings.JWT_REFRESH_COOKIE = True
    _, _, codes = enrolled
    token = mfa_token_of(api_client, approved_user)

    response = api_client.post(VERIFY, {"mfa_token": token, "code": codes[0]})

    assert response.status_code == HTTPStatus.OK
    assert "refresh" not in response.json()
    assert response.cookies["gatehouse_refresh"].value


@pytest.mark.django_db
def test_remove_needs_a_current_code(enrolled):
    client, secret, _ = enrolled

    response = client.delete(
        TOTP, {"code": code_at(secret, steps_ago=2)}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid_code"
    assert len(client.get(MFA).json()) == 2


@pytest.mark.django_db
def test_remove_turns_mfa_off_and_audits(api_client, enrolled, approved_user):
    client, secret, _ = enrolled

    response = client.delete(TOTP, {"code": code_at(secret)}, format="json")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert client.get(MFA).json() == []
    assert login(api_client, approved_user).status_code == HTTPStatus.OK
    assert ActivityLog.objects.filter(action=ActivityLog.Action.MFA_DISABLED).exists()


@pytest.mark.django_db
def test_remove_without_mfa_answers_404(auth_client, approved_user):
    response = auth_client(approved_user).delete(
        TOTP, {"code": "123456"}, format="json"
    )

    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db
def test_the_endpoints_need_a_signed_in_user(api_client):
    assert api_client.get(MFA).status_code == HTTPStatus.UNAUTHORIZED
    assert api_client.post(TOTP).status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_a_code_sign_in_of_an_enrolled_user_answers_mfa_required_then_verifies(
    api_client, enrolled, approved_user, mailoutbox
):
    _, secret, _ = enrolled
    api_client.post("/api/v1/auth/code/request/", {"email": approved_user.email})
    emailed = re.search(r"is:\n\n(\S+)\n", mailoutbox[-1].body).group(1)

    response = api_client.post(
        "/api/v1/auth/code/confirm/", {"email": approved_user.email, "code": emailed}
    )
    token = response.json()["mfa_token"]
    verified = api_client.post(VERIFY, {"mfa_token": token, "code": code_at(secret)})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "mfa_required"
    assert verified.status_code == HTTPStatus.OK
    entry = ActivityLog.objects.filter(
        action=ActivityLog.Action.SIGN_IN_SUCCEEDED
    ).first()
    assert entry.metadata["method"] == "code+mfa"


ADMIN_USERS = "/api/v1/admin/users/"


@pytest.mark.django_db
def test_required_for_admins_refuses_an_admin_without_mfa(
    auth_client, admin_user, settings
):
    settings.MFA_REQUIRED_FOR_ADMINS = True

    response = auth_client(admin_user).get(ADMIN_USERS)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "mfa_enrollment_required"


@pytest.mark.django_db
def test_required_for_admins_lets_an_enrolled_admin_in_after_verify(
    api_client, auth_client, admin_user, settings
):
    settings.MFA_REQUIRED_FOR_ADMINS = True
    client = auth_client(admin_user)
    secret = client.post(TOTP).json()["secret"]
    client.post(CONFIRM, {"code": code_at(secret)}, format="json")
    token = mfa_token_of(api_client, admin_user)
    tokens = api_client.post(
        VERIFY, {"mfa_token": token, "code": code_at(secret)}
    ).json()

    response = api_client.get(
        ADMIN_USERS, HTTP_AUTHORIZATION=f"Bearer {tokens['access']}"
    )

    assert response.status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_without_the_requirement_an_admin_needs_no_mfa(
    auth_client, admin_user, settings
):
    settings.MFA_REQUIRED_FOR_ADMINS = False

    assert auth_client(admin_user).get(ADMIN_USERS).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_the_requirement_never_lets_a_non_admin_in(
    auth_client, approved_user, settings
):
    settings.MFA_REQUIRED_FOR_ADMINS = True

    response = auth_client(approved_user).get(ADMIN_USERS)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "permission_denied"


@pytest.mark.django_db
def test_wrong_removal_codes_are_throttled_per_user(enrolled, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "mfa_verify": "3/minute"}
    client, secret, _ = enrolled
    statuses = [
        client.delete(TOTP, {"code": "000000"}, format="json").status_code
        for _ in range(3)
    ]

    response = client.delete(TOTP, {"code": code_at(secret)}, format="json")

    assert statuses == [HTTPStatus.BAD_REQUEST] * 3
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert len(client.get(MFA).json()) == 2


@pytest.mark.django_db
def test_wrong_enrolment_codes_are_throttled_per_user(
    auth_client, approved_user, settings
):
    settings.THROTTLE_RATES = {
        **settings.THROTTLE_RATES,
        "mfa_totp_confirm": "3/minute",
    }
    client = auth_client(approved_user)
    secret = client.post(TOTP).json()["secret"]
    statuses = [
        client.post(CONFIRM, {"code": "000000"}, format="json").status_code
        for _ in range(3)
    ]

    response = client.post(CONFIRM, {"code": code_at(secret)}, format="json")

    assert statuses == [HTTPStatus.BAD_REQUEST] * 3
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response.json()["code"] == "throttled"
    assert client.get(MFA).json() == []


@pytest.mark.django_db
def test_the_enrolment_throttle_counts_each_user_apart(
    auth_client, approved_user, user_factory, settings
):
    settings.THROTTLE_RATES = {
        **settings.THROTTLE_RATES,
        "mfa_totp_confirm": "2/minute",
    }
    for _ in range(2):
        auth_client(approved_user).post(CONFIRM, {"code": "000000"}, format="json")
    other = auth_client(user_factory())
    secret = other.post(TOTP).json()["secret"]

    response = other.post(CONFIRM, {"code": code_at(secret)}, format="json")

    assert response.status_code == HTTPStatus.OK


@pytest.fixture
def loose_verify_throttle(settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "mfa_verify": "100/minute"}


@pytest.mark.django_db
def test_an_mfa_token_survives_four_wrong_codes(
    api_client, enrolled, approved_user, loose_verify_throttle
):
    _, secret, _ = enrolled
    token = mfa_token_of(api_client, approved_user)
    for _ in range(4):
        api_client.post(VERIFY, {"mfa_token": token, "code": "000000"})

    response = api_client.post(VERIFY, {"mfa_token": token, "code": code_at(secret)})

    assert response.status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_the_fifth_wrong_code_uses_the_mfa_token_up(
    api_client, enrolled, approved_user, loose_verify_throttle
):
    _, secret, codes = enrolled
    token = mfa_token_of(api_client, approved_user)
    for _ in range(5):
        api_client.post(VERIFY, {"mfa_token": token, "code": "000000"})

    response = api_client.post(VERIFY, {"mfa_token": token, "code": codes[0]})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid_code"
    assert (
        api_client.post(
            VERIFY,
            {"mfa_token": mfa_token_of(api_client, approved_user), "code": codes[0]},
        ).status_code
        == HTTPStatus.OK
    )


# --- Audit: the entry each step leaves, holding no secret ----------------------


@pytest.mark.django_db
def test_enrolment_is_audited_without_the_secret_or_recovery_codes(
    auth_client, approved_user
):
    client = auth_client(approved_user)
    secret = client.post(TOTP).json()["secret"]
    code = code_at(secret)

    codes = client.post(CONFIRM, {"code": code}, format="json").json()
    entry = only_entry(ActivityLog.Action.MFA_ENABLED)

    assert_about(entry, approved_user)
    assert_holds_none_of(entry, secret, code, *codes["recovery_codes"])


@pytest.mark.django_db
def test_a_wrong_enrolment_code_is_audited(auth_client, approved_user):
    client = auth_client(approved_user)
    secret = client.post(TOTP).json()["secret"]
    wrong = code_at(secret, steps_ago=4)

    response = client.post(CONFIRM, {"code": wrong}, format="json")
    entry = only_entry(ActivityLog.Action.MFA_CODE_FAILED)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert_about(entry, approved_user)
    assert entry.metadata == {"purpose": "enable"}
    assert_holds_none_of(entry, secret, wrong)


@pytest.mark.django_db
def test_removal_is_audited_without_the_code(enrolled, approved_user):
    client, secret, codes = enrolled
    code = code_at(secret)

    response = client.delete(TOTP, {"code": code}, format="json")
    entry = only_entry(ActivityLog.Action.MFA_DISABLED)

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert_about(entry, approved_user)
    assert_holds_none_of(entry, secret, code, *codes)


@pytest.mark.django_db
def test_a_wrong_removal_code_is_audited(enrolled, approved_user):
    client, secret, _ = enrolled
    wrong = code_at(secret, steps_ago=4)

    response = client.delete(TOTP, {"code": wrong}, format="json")
    entry = only_entry(ActivityLog.Action.MFA_CODE_FAILED)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert_about(entry, approved_user)
    assert entry.metadata == {"purpose": "disable"}
    assert_holds_none_of(entry, secret, wrong)
    assert not ActivityLog.objects.filter(
        action=ActivityLog.Action.MFA_DISABLED
    ).exists()


@pytest.mark.django_db
def test_a_wrong_second_factor_is_audited_without_code_or_token(
    api_client, enrolled, approved_user
):
    _, secret, _ = enrolled
    token = mfa_token_of(api_client, approved_user)
    wrong = code_at(secret, steps_ago=4)

    api_client.post(VERIFY, {"mfa_token": token, "code": wrong})
    entry = only_entry(ActivityLog.Action.SIGN_IN_FAILED)

    assert_about(entry, approved_user)
    assert entry.metadata == {
        "method": "mfa",
        "reason": "invalid_code",
        "email": approved_user.email,
    }
    assert_holds_none_of(entry, secret, wrong, token)


@pytest.mark.django_db
def test_a_second_factor_success_is_audited_without_code_or_tokens(
    api_client, enrolled, approved_user
):
    _, _, codes = enrolled
    token = mfa_token_of(api_client, approved_user)

    body = api_client.post(VERIFY, {"mfa_token": token, "code": codes[0]}).json()
    entry = only_entry(ActivityLog.Action.SIGN_IN_SUCCEEDED, method="password+mfa")

    assert_about(entry, approved_user)
    assert set(entry.metadata) == {"method", "session"}
    assert_holds_none_of(entry, codes[0], token, body["access"], body["refresh"])
