"""/admin/login/ shares the API's sign-in throttles: per client IP and per account."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from conftest import DEFAULT_PASSWORD


@pytest.fixture
def tight_limits(settings):
    settings.THROTTLE_RATES = {"signin_ip": "3/minute", "signin_account": "2/minute"}


WRONG_PASSWORD = "not-the-password"


def _attempt(client, username: str, password: str = WRONG_PASSWORD, **extra):
    return client.post(
        reverse("admin:login"), {"username": username, "password": password}, **extra
    )


@pytest.mark.django_db
def test_too_many_attempts_from_one_ip_answer_429_with_retry_after(
    client, tight_limits
):
    for i in range(3):
        _attempt(client, f"user{i}@example.com")

    response = _attempt(client, "someone-else@example.com")

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert 1 <= int(response["Retry-After"]) <= 60


@pytest.mark.django_db
def test_too_many_attempts_on_one_account_answer_429_across_ips(client, tight_limits):
    for i in range(2):
        _attempt(client, "victim@example.com", REMOTE_ADDR=f"10.0.0.{i}")

    response = _attempt(client, "Victim@Example.com", REMOTE_ADDR="10.0.0.9")

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS


@pytest.mark.django_db
def test_a_refused_attempt_does_not_sign_in_even_with_the_right_password(
    client, admin_user, tight_limits
):
    for i in range(2):
        _attempt(client, admin_user.email, REMOTE_ADDR=f"10.0.1.{i}")

    response = _attempt(client, admin_user.email, DEFAULT_PASSWORD)

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_behind_one_proxy_one_client_does_not_lock_out_another(
    client, admin_user, tight_limits, settings
):
    settings.NUM_PROXIES = 1
    for i in range(3):
        _attempt(client, f"u{i}@example.com", HTTP_X_FORWARDED_FOR="5.5.5.5")

    blocked = _attempt(client, "x@example.com", HTTP_X_FORWARDED_FOR="5.5.5.5")
    other = _attempt(
        client, admin_user.email, DEFAULT_PASSWORD, HTTP_X_FORWARDED_FOR="7.7.7.7"
    )

    assert blocked.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert other.status_code == HTTPStatus.FOUND  # signed in, off to the console


@pytest.mark.django_db
def test_the_admin_form_and_the_api_share_one_account_budget(
    client, api_client, tight_limits
):
    api_client.post(
        "/api/v1/auth/login/",
        {"email": "victim@example.com", "password": "wrong"},
        format="json",
        REMOTE_ADDR="10.0.2.1",
    )
    _attempt(client, "victim@example.com", REMOTE_ADDR="10.0.2.2")

    response = _attempt(client, "victim@example.com", REMOTE_ADDR="10.0.2.3")

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
