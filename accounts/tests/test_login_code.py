import logging
import re
from datetime import timedelta
from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AccessRequest, AuthSession, LoginCode, User
from accounts.refresh_cookie import REFRESH_COOKIE_NAME
from accounts.tests.audit_entries import assert_about, assert_holds_none_of, only_entry
from conftest import DEFAULT_PASSWORD
from core.models import ActivityLog

REQUEST = "/api/v1/auth/code/request/"
CONFIRM = "/api/v1/auth/code/confirm/"
LOGIN = "/api/v1/auth/login/"
WRONG = "ZZZZ-ZZZZ"


def _code_in(mail) -> str:
    match = re.search(r"is:\n\n(\S+)\n", mail.body)
    assert match, mail.body
    return match.group(1)


@pytest.fixture
def request_code(api_client, mailoutbox):
    """Asks for a code through the endpoint; returns the code the mail carries."""

    def do(email: str) -> str:
        sent = len(mailoutbox)
        response = api_client.post(REQUEST, {"email": email}, format="json")
        assert response.status_code == HTTPStatus.ACCEPTED, response.content
        assert len(mailoutbox) == sent + 1
        assert mailoutbox[-1].to == [email]
        return _code_in(mailoutbox[-1])

    return do


def _confirm(client, email: str, code: str, **extra):
    return client.post(CONFIRM, {"email": email, "code": code}, format="json", **extra)


@pytest.mark.django_db
def test_an_emailed_code_signs_an_approved_user_in_with_the_login_body(
    api_client, approved_user, request_code, sign_in
):
    code = request_code(approved_user.email)

    response = _confirm(api_client, approved_user.email, code)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert set(body) == set(sign_in(approved_user))
    assert body["user"]["email"] == approved_user.email
    entries = ActivityLog.objects.filter(action=ActivityLog.Action.SIGN_IN_SUCCEEDED)
    assert sorted(e.metadata["method"] for e in entries) == [
        "code",
        "password",
    ]


@pytest.mark.django_db
def test_the_code_is_accepted_without_its_dash_and_in_lower_case(
    api_client, approved_user, request_code
):
    code = request_code(approved_user.email)

    response = _confirm(
        api_client, approved_user.email.upper(), code.replace("-", "").lower()
    )

    assert response.status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_an_unknown_address_gets_the_same_202_and_no_mail_where_sign_up_is_closed(
    api_client, approved_user, mailoutbox, settings
):
    settings.SIGNUP_MODE = "closed"

    unknown = api_client.post(REQUEST, {"email": "ghost@example.com"}, format="json")
    known = api_client.post(REQUEST, {"email": approved_user.email}, format="json")

    assert unknown.status_code == known.status_code == HTTPStatus.ACCEPTED
    assert unknown.json() == known.json()
    assert [mail.to for mail in mailoutbox] == [[approved_user.email]]
    assert not LoginCode.objects.filter(email="ghost@example.com").exists()


@pytest.mark.django_db
def test_a_first_code_where_sign_up_needs_approval_opens_a_pending_account(
    api_client, request_code, settings
):
    settings.SIGNUP_MODE = "approval"
    code = request_code("newcomer@example.com")

    response = _confirm(api_client, "newcomer@example.com", code)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "approval_pending"
    user = User.objects.get(email="newcomer@example.com")
    assert user.status == User.Status.PENDING
    assert not user.has_usable_password()
    assert EmailAddress.objects.get(user=user).verified is True
    assert AccessRequest.objects.get(user=user).status == AccessRequest.Status.PENDING
    signed_up = ActivityLog.objects.get(action=ActivityLog.Action.SIGNED_UP)
    assert signed_up.metadata == {"method": "code", "status": "pending"}


@pytest.mark.django_db
def test_a_first_code_where_sign_up_is_open_signs_the_new_account_in(
    api_client, request_code, settings
):
    settings.SIGNUP_MODE = "open"
    code = request_code("walk-in@example.com")

    response = _confirm(api_client, "walk-in@example.com", code)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["user"]["email_verified"] is True
    assert not AccessRequest.objects.exists()


@pytest.mark.django_db
def test_a_code_lives_login_code_timeout_seconds_by_default(
    approved_user, request_code
):
    request_code(approved_user.email)

    stored = LoginCode.objects.get(email=approved_user.email)

    assert stored.expires_at - stored.created_at == timedelta(seconds=900)


@pytest.mark.django_db
def test_an_expired_code_is_refused(api_client, approved_user, request_code, settings):
    settings.ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 0  # expired as soon as it is issued
    code = request_code(approved_user.email)

    response = _confirm(api_client, approved_user.email, code)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid_code"
    assert not AuthSession.objects.exists()


@pytest.mark.django_db
def test_a_code_signs_in_once(api_client, approved_user, request_code):
    code = request_code(approved_user.email)

    first = _confirm(api_client, approved_user.email, code)
    second = _confirm(api_client, approved_user.email, code)

    assert first.status_code == HTTPStatus.OK
    assert second.status_code == HTTPStatus.BAD_REQUEST
    assert second.json()["code"] == "invalid_code"


@pytest.mark.django_db
def test_a_new_request_replaces_the_earlier_code(
    api_client, approved_user, request_code
):
    old = request_code(approved_user.email)
    new = request_code(approved_user.email)

    assert _confirm(api_client, approved_user.email, old).status_code == 400
    assert _confirm(api_client, approved_user.email, new).status_code == 200


@pytest.mark.django_db
def test_two_wrong_tries_leave_the_code_usable(api_client, approved_user, request_code):
    code = request_code(approved_user.email)
    for _ in range(2):
        _confirm(api_client, approved_user.email, WRONG)

    response = _confirm(api_client, approved_user.email, code)

    assert response.status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_the_third_wrong_try_kills_the_code(api_client, approved_user, request_code):
    code = request_code(approved_user.email)
    wrong = [_confirm(api_client, approved_user.email, WRONG) for _ in range(3)]

    response = _confirm(api_client, approved_user.email, code)

    assert [r.status_code for r in wrong] == [400, 400, 400]
    assert {r.json()["code"] for r in wrong} == {"invalid_code"}
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "detail": "The code is wrong, used or expired; request a new one.",
        "code": "invalid_code",
        "errors": {"code": ["The code is wrong, used or expired; request a new one."]},
    }


@pytest.mark.django_db
def test_a_wrong_code_is_audited_as_a_failed_sign_in(
    api_client, approved_user, request_code
):
    request_code(approved_user.email)

    _confirm(api_client, approved_user.email, WRONG)

    entry = ActivityLog.objects.get(action=ActivityLog.Action.SIGN_IN_FAILED)
    assert entry.target_id == str(approved_user.pk)
    assert entry.metadata == {
        "method": "code",
        "reason": "invalid_code",
        "email": approved_user.email,
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "code"),
    [
        (User.Status.PENDING, "approval_pending"),
        (User.Status.REJECTED, "access_rejected"),
        (User.Status.DISABLED, "account_disabled"),
    ],
)
def test_a_code_of_a_user_not_approved_answers_as_login_does(
    api_client, user_factory, request_code, status, code
):
    user = user_factory(status=status)
    by_password = api_client.post(
        LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    )
    emailed = request_code(user.email)

    response = _confirm(api_client, user.email, emailed)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == code
    assert by_password.json()["code"] == code
    assert not AuthSession.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_a_password_chosen_before_the_address_was_proven_is_dropped(
    api_client, request_code, settings
):
    settings.SIGNUP_MODE = "open"
    api_client.post(
        "/api/v1/auth/register/",
        {"email": "squatted@example.com", "password": "someone-elses-pass"},
        format="json",
    )
    code = request_code("squatted@example.com")

    response = _confirm(api_client, "squatted@example.com", code)

    assert response.status_code == HTTPStatus.OK
    user = User.objects.get(email="squatted@example.com")
    assert not user.has_usable_password()


@pytest.mark.django_db
def test_confirming_is_throttled_per_address(
    api_client, approved_user, request_code, settings
):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "signin_account": "3/minute"}
    code = request_code(approved_user.email)  # one of the address's three
    _confirm(api_client, approved_user.email, WRONG)
    _confirm(api_client, approved_user.email, WRONG)

    response = _confirm(api_client, approved_user.email, code)

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response.json()["code"] == "throttled"


@pytest.mark.django_db
def test_code_sign_ins_are_throttled_per_ip(
    api_client, user_factory, request_code, settings
):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "signin_ip": "3/minute"}
    users = [user_factory() for _ in range(2)]
    codes = [request_code(user.email) for user in users]  # two of the IP's three
    first = _confirm(api_client, users[0].email, codes[0])

    response = _confirm(api_client, users[1].email, codes[1])
    other_ip = _confirm(api_client, users[1].email, codes[1], REMOTE_ADDR="10.9.9.9")

    assert first.status_code == HTTPStatus.OK
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert other_ip.status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_code_mails_per_address_are_limited_more_slowly_than_sign_ins(
    api_client, approved_user, mailoutbox, settings
):
    settings.THROTTLE_RATES = {
        **settings.THROTTLE_RATES,
        "login_code_address": "2/hour",
    }
    answers = [
        api_client.post(REQUEST, {"email": approved_user.email}, format="json")
        for _ in range(3)
    ]

    assert [a.status_code for a in answers] == [202, 202, 429]
    assert len(mailoutbox) == 2


@pytest.mark.django_db
def test_the_code_is_stored_only_as_a_hash_and_never_logged(
    api_client, approved_user, request_code, caplog
):
    caplog.set_level(logging.DEBUG)
    code = request_code(approved_user.email)
    _confirm(api_client, approved_user.email, WRONG)

    stored = LoginCode.objects.values().get(email=approved_user.email)
    audit = list(ActivityLog.objects.values_list("metadata", flat=True))

    bare = code.replace("-", "")
    for text in [*map(str, stored.values()), str(audit), caplog.text]:
        assert code not in text
        assert bare.lower() not in text.lower()
    assert len(stored["code_hash"]) == 64


@pytest.mark.django_db
def test_confirm_takes_as_many_queries_however_much_history_the_user_has(
    api_client, user_factory, request_code, sign_in
):
    fresh, busy = user_factory(), user_factory()
    for _ in range(4):
        sign_in(busy)
    counts = []
    for user in (fresh, busy):
        code = request_code(user.email)
        with CaptureQueriesContext(connection) as queries:
            response = _confirm(api_client, user.email, code)
        assert response.status_code == HTTPStatus.OK
        counts.append(len(queries))

    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_deleting_the_account_deletes_its_live_code(auth_client, approved_user):
    client = auth_client(approved_user)
    client.post(REQUEST, {"email": approved_user.email}, format="json")

    assert LoginCode.objects.filter(email=approved_user.email).exists()

    response = client.delete(
        "/api/v1/auth/me/", {"password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not LoginCode.objects.filter(email=approved_user.email).exists()


@pytest.mark.django_db
def test_a_first_code_of_first_admin_email_makes_the_admin(
    api_client, request_code, settings
):
    settings.SIGNUP_MODE = "approval"
    settings.FIRST_ADMIN_EMAIL = "owner@example.com"
    code = request_code("owner@example.com")

    response = _confirm(api_client, "owner@example.com", code)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["user"]["is_admin"] is True
    assert not AccessRequest.objects.exists()


@pytest.mark.django_db
def test_with_cookie_mode_a_code_sign_in_sets_the_refresh_cookie(
    api_client, approved_user, request_code, settings
):
    settings.JWT_REFRESH_COOKIE = True
    code = request_code(approved_user.email)

    response = _confirm(api_client, approved_user.email, code)

    assert response.status_code == HTTPStatus.OK
    assert "refresh" not in response.json()
    cookie = response.cookies[REFRESH_COOKIE_NAME]
    assert cookie.value
    assert cookie["httponly"]


@pytest.mark.django_db
def test_a_new_code_sweeps_out_codes_that_expired_unconfirmed(
    approved_user, user_factory, request_code
):
    abandoned = user_factory(email="abandoned@example.com")
    request_code(abandoned.email)
    LoginCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    live = user_factory(email="live@example.com")
    request_code(live.email)

    request_code(approved_user.email)

    assert set(LoginCode.objects.values_list("email", flat=True)) == {
        live.email,
        approved_user.email,
    }


# --- Audit: the entry each step leaves, holding no secret ----------------------


@pytest.mark.django_db
def test_a_wrong_emailed_code_is_audited_without_the_code(
    api_client, approved_user, request_code
):
    code = request_code(approved_user.email)
    wrong = "ZZZZ-ZZZZ"

    api_client.post(CONFIRM, {"email": approved_user.email, "code": wrong})
    entry = only_entry(ActivityLog.Action.SIGN_IN_FAILED)

    assert_about(entry, approved_user)
    assert entry.metadata == {
        "method": "code",
        "reason": "invalid_code",
        "email": approved_user.email,
    }
    assert_holds_none_of(entry, code, wrong)


@pytest.mark.django_db
def test_an_emailed_code_success_is_audited_without_code_or_tokens(
    api_client, approved_user, request_code
):
    code = request_code(approved_user.email)

    body = api_client.post(CONFIRM, {"email": approved_user.email, "code": code}).json()
    entry = only_entry(ActivityLog.Action.SIGN_IN_SUCCEEDED, method="code")

    assert_about(entry, approved_user)
    assert_holds_none_of(entry, code, body["access"], body["refresh"])
