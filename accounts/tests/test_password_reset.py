import re
from http import HTTPStatus

import pytest

from accounts.models import AuthSession
from conftest import DEFAULT_PASSWORD
from core.throttling import parse_rate

RESET = "/api/v1/auth/password/reset/"
CONFIRM = "/api/v1/auth/password/reset/confirm/"
NEW = "a-brand-new-passphrase"


def _uid_and_token(mail_body: str) -> tuple[str, str]:
    match = re.search(r"/password/reset/key/([0-9a-f]+)-([\w-]+)/", mail_body)
    assert match, mail_body
    return match.group(1), match.group(2)


@pytest.mark.django_db
def test_reset_for_an_unknown_address_sends_no_email(api_client, mailoutbox):
    response = api_client.post(RESET, {"email": "ghost@example.com"}, format="json")

    assert response.status_code == HTTPStatus.ACCEPTED
    assert mailoutbox == []


@pytest.mark.django_db
def test_reset_mails_per_address_are_limited_more_slowly_than_sign_ins(
    api_client, approved_user, mailoutbox, settings
):
    settings.THROTTLE_RATES = {
        **settings.THROTTLE_RATES,
        "password_reset_address": "2/hour",
    }
    answers = [
        api_client.post(RESET, {"email": approved_user.email}, format="json")
        for _ in range(3)
    ]

    assert [a.status_code for a in answers] == [
        HTTPStatus.ACCEPTED,
        HTTPStatus.ACCEPTED,
        HTTPStatus.TOO_MANY_REQUESTS,
    ]
    assert answers[2].json()["code"] == "throttled"
    assert len(mailoutbox) == 2


@pytest.mark.django_db
def test_reset_mails_per_address_default_to_a_few_an_hour(
    api_client, approved_user, mailoutbox, settings
):
    limit, period = parse_rate(settings.THROTTLE_RATES["password_reset_address"])
    sign_in_limit, sign_in_period = parse_rate(
        settings.THROTTLE_RATES["signin_account"]
    )

    assert limit / period < sign_in_limit / sign_in_period
    assert period >= 3600


@pytest.mark.django_db
def test_reset_answers_the_same_for_known_and_unknown_emails(api_client, approved_user):
    known = api_client.post(RESET, {"email": approved_user.email}, format="json")
    unknown = api_client.post(RESET, {"email": "ghost@example.com"}, format="json")

    assert known.status_code == unknown.status_code == HTTPStatus.ACCEPTED
    assert known.json() == unknown.json()


@pytest.mark.django_db
def test_reset_mails_a_link_whose_uid_and_token_set_a_new_password(
    api_client, approved_user, sign_in, mailoutbox
):
    old_session = sign_in(approved_user)
    api_client.post(RESET, {"email": approved_user.email}, format="json")
    uid, token = _uid_and_token(mailoutbox[-1].body)

    response = api_client.post(
        CONFIRM, {"uid": uid, "token": token, "new_password": NEW}, format="json"
    )

    assert response.status_code == HTTPStatus.NO_CONTENT
    approved_user.refresh_from_db()
    assert approved_user.check_password(NEW)
    assert not approved_user.check_password(DEFAULT_PASSWORD)
    assert not AuthSession.objects.live().filter(user=approved_user).exists()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {old_session['access']}")
    assert api_client.get("/api/v1/auth/me/").status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_a_reset_token_works_only_once(api_client, approved_user, mailoutbox):
    api_client.post(RESET, {"email": approved_user.email}, format="json")
    uid, token = _uid_and_token(mailoutbox[-1].body)
    api_client.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW})

    again = api_client.post(
        CONFIRM, {"uid": uid, "token": token, "new_password": "yet-another-passphrase"}
    )

    assert again.status_code == HTTPStatus.BAD_REQUEST
    assert again.json()["code"] == "invalid"


@pytest.mark.django_db
def test_reset_confirm_with_a_bad_token_is_400(api_client, approved_user):
    response = api_client.post(
        CONFIRM,
        {"uid": approved_user.pk.hex, "token": "bad-token", "new_password": NEW},
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "token" in response.json()["errors"]


@pytest.mark.django_db
def test_reset_confirm_with_a_weak_password_is_400(
    api_client, approved_user, mailoutbox
):
    api_client.post(RESET, {"email": approved_user.email}, format="json")
    uid, token = _uid_and_token(mailoutbox[-1].body)

    response = api_client.post(
        CONFIRM, {"uid": uid, "token": token, "new_password": "1"}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "new_password" in response.json()["errors"]


@pytest.mark.django_db
def test_reset_link_can_point_at_a_frontend(
    api_client, approved_user, mailoutbox, settings
):
    settings.PASSWORD_RESET_URL = (
        "https://app.example.com/reset?uid={uid}&token={token}"
    )

    api_client.post(RESET, {"email": approved_user.email}, format="json")

    assert "https://app.example.com/reset?uid=" in mailoutbox[-1].body


@pytest.mark.django_db
@pytest.mark.parametrize(
    "uid",
    [
        "not-a-uuid",
        "zz",
        "",
        "0" * 40,
        "00000000000000000000000000000000",
        "\x00",
        "\U0001f600",
        "A" * 500,
    ],
)
def test_reset_confirm_with_a_malformed_or_unknown_uid_is_400_invalid(api_client, uid):
    response = api_client.post(
        CONFIRM, {"uid": uid, "token": "abc-def", "new_password": NEW}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid"
