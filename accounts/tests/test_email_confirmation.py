"""Email confirmation: by POST only, through the API or the server's own page."""

import re
from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from accounts.models import User
from core.models import ActivityLog

REGISTER = "/api/v1/auth/register/"
CONFIRM = "/api/v1/auth/email/confirm/"
RESEND = "/api/v1/auth/email/resend/"
STRONG = "a-long-and-unusual-passphrase"
BOSS = "boss@example.com"


@pytest.fixture
def register(api_client, mailoutbox, django_capture_on_commit_callbacks):
    """Signs up by password; returns the confirmation link mailed to the address."""

    def do(email: str) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            api_client.post(REGISTER, {"email": email, "password": STRONG})
        return _link_in(next(m for m in mailoutbox if m.to == [email]).body)

    return do


def _link_in(body: str) -> str:
    """The path of the server's confirmation page in a mail."""
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+?/)", body)
    assert match, body
    return match.group(1)


def _key_of(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[-1]


def _verified(email: str) -> bool:
    return EmailAddress.objects.get(email=email).verified


@pytest.mark.django_db
def test_opening_the_confirmation_link_confirms_nothing(register, client):
    link = register("c@example.com")

    response = client.get(link)

    assert response.status_code == HTTPStatus.OK
    assert not _verified("c@example.com")


@pytest.mark.django_db
def test_the_confirmation_page_shows_a_button_that_posts(register, client):
    link = register("c@example.com")
    page = client.get(link).content.decode()

    # allauth signs a fresh key for the form (its timestamp may have moved on a
    # second), so the form is proven by what posting it does.
    form = re.search(r'<form[^>]*method="post"[^>]*action="([^"]+)"', page)
    assert form is not None
    assert 'type="submit"' in page
    assert not _verified("c@example.com")
    client.post(form.group(1))
    assert _verified("c@example.com")


@pytest.mark.django_db
def test_pressing_the_confirmation_pages_button_confirms_the_address(register, client):
    link = register("c@example.com")

    client.post(link)

    assert _verified("c@example.com")


@pytest.mark.django_db
def test_the_api_confirms_an_address_by_its_key(register, api_client):
    key = _key_of(register("c@example.com"))

    response = api_client.post(CONFIRM, {"key": key}, format="json")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert _verified("c@example.com")
    assert User.objects.get(email="c@example.com").status == "pending"


@pytest.mark.django_db
def test_a_used_key_answers_invalid(register, api_client):
    key = _key_of(register("c@example.com"))
    api_client.post(CONFIRM, {"key": key}, format="json")

    again = api_client.post(CONFIRM, {"key": key}, format="json")

    assert again.status_code == HTTPStatus.BAD_REQUEST
    assert again.json()["code"] == "invalid"
    assert "key" in again.json()["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["nonsense", "MQ:1tAbCd:forged-signature", ""])
def test_an_unknown_key_answers_invalid(api_client, key):
    response = api_client.post(CONFIRM, {"key": key}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid"


@pytest.mark.django_db
def test_an_expired_key_answers_invalid(register, api_client, settings):
    key = _key_of(register("c@example.com"))
    settings.ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 0

    response = api_client.post(CONFIRM, {"key": key}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not _verified("c@example.com")


@pytest.mark.django_db
def test_the_confirmation_link_can_point_at_a_frontend(
    api_client, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.EMAIL_CONFIRM_URL = "https://app.example.com/confirm?key={key}"
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(REGISTER, {"email": "f@example.com", "password": STRONG})
    key = re.search(r"confirm\?key=(\S+)", mailoutbox[-1].body).group(1)

    response = api_client.post(CONFIRM, {"key": key}, format="json")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert _verified("f@example.com")


# --- FIRST_ADMIN_EMAIL on confirmation ------------------------------------------------


@pytest.mark.django_db
def test_confirming_the_first_admin_email_by_api_makes_an_approved_admin(
    register, api_client, settings
):
    settings.FIRST_ADMIN_EMAIL = BOSS
    key = _key_of(register(BOSS))
    assert User.objects.get(email=BOSS).role == "user"  # unconfirmed yet

    api_client.post(CONFIRM, {"key": key}, format="json")

    user = User.objects.get(email=BOSS)
    assert (user.status, user.role, user.is_staff) == ("approved", "admin", True)


@pytest.mark.django_db
def test_the_first_admin_rule_firing_is_audited(register, api_client, settings):
    settings.FIRST_ADMIN_EMAIL = BOSS
    key = _key_of(register(BOSS))

    api_client.post(CONFIRM, {"key": key}, format="json")

    user = User.objects.get(email=BOSS)
    entry = ActivityLog.objects.get(action="user.first_admin_applied")
    assert entry.target_id == str(user.pk)
    assert entry.metadata == {"status": "pending", "role": "user"}


@pytest.mark.django_db
def test_a_rejection_before_confirmation_stands_for_the_first_admin_email(
    register, api_client, admin_user, auth_client, settings
):
    settings.FIRST_ADMIN_EMAIL = BOSS
    key = _key_of(register(BOSS))
    user = User.objects.get(email=BOSS)
    request = user.access_requests.get()
    auth_client(admin_user).post(
        f"/api/v1/admin/access-requests/{request.pk}/reject/", format="json"
    )

    api_client.post(CONFIRM, {"key": key}, format="json")

    user.refresh_from_db()
    assert (user.status, user.role) == ("rejected", "user")
    assert not ActivityLog.objects.filter(action="user.first_admin_applied").exists()


# --- Resend ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_resend_mails_a_new_link_that_confirms(register, api_client, mailoutbox):
    register("c@example.com")
    mailoutbox.clear()

    response = api_client.post(RESEND, {"email": "C@example.com"}, format="json")
    api_client.post(CONFIRM, {"key": _key_of(_link_in(mailoutbox[0].body))})

    assert response.status_code == HTTPStatus.ACCEPTED
    assert [m.to for m in mailoutbox] == [["c@example.com"]]
    assert _verified("c@example.com")


@pytest.mark.django_db
def test_resend_answers_the_same_for_unknown_and_confirmed_addresses(
    register, api_client, approved_user, mailoutbox
):
    register("c@example.com")
    mailoutbox.clear()

    answers = [
        api_client.post(RESEND, {"email": email}, format="json")
        for email in ("c@example.com", "ghost@example.com", approved_user.email)
    ]

    assert {a.status_code for a in answers} == {HTTPStatus.ACCEPTED}
    assert len({a.content for a in answers}) == 1
    assert [m.to for m in mailoutbox] == [["c@example.com"]]


@pytest.mark.django_db
def test_resend_is_throttled_per_address(register, api_client, settings, mailoutbox):
    register("c@example.com")
    settings.THROTTLE_RATES = {
        **settings.THROTTLE_RATES,
        "email_resend_address": "2/hour",
    }

    answers = [
        api_client.post(RESEND, {"email": "c@example.com"}, format="json")
        for _ in range(3)
    ]

    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[2].json()["code"] == "throttled"


@pytest.mark.django_db
def test_the_confirmation_page_is_the_server_fallback(client):
    response = client.get(reverse("account_confirm_email", args=["bogus-key"]))

    assert response.status_code == HTTPStatus.OK
    assert not EmailAddress.objects.filter(verified=True).exists()
