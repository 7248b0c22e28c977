"""allauth's rate limits find the client's address the way the API does (NUM_PROXIES)."""

from __future__ import annotations

from http import HTTPStatus

import pytest

PROXY = "10.0.0.1"


@pytest.fixture
def behind_one_proxy(settings):
    settings.NUM_PROXIES = 1
    settings.ACCOUNT_RATE_LIMITS = {"login": "3/m/ip"}


def _web_login(client, email: str, client_address: str):
    return client.post(
        "/accounts/login/",
        {"login": email, "password": "wrong"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=client_address,
    )


@pytest.mark.django_db
def test_one_client_exhausting_the_login_limit_does_not_lock_out_another(
    client, behind_one_proxy
):
    for i in range(3):
        _web_login(client, f"guess{i}@example.com", "5.5.5.5")

    blocked = _web_login(client, "guess9@example.com", "5.5.5.5")
    other = _web_login(client, "someone@example.com", "7.7.7.7")

    assert blocked.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert other.status_code == HTTPStatus.OK  # the form, with its error


@pytest.mark.django_db
def test_a_forged_forwarded_for_does_not_dodge_the_login_limit(
    client, behind_one_proxy
):
    for i in range(3):
        _web_login(client, f"guess{i}@example.com", f"6.6.6.{i}, 5.5.5.5")

    response = _web_login(client, "guess9@example.com", "1.2.3.4, 5.5.5.5")

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
