"""Redis down: sign-in keeps working on per-process throttles; /health says degraded."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from http import HTTPStatus
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings

from conftest import DEFAULT_PASSWORD, services_required
from core.tests.served_app import free_port

LOGIN = "/api/v1/auth/login/"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
KEY_PREFIX = "gh-ops-cache-outage"


def _cache_at(settings, location: str) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "core.redis_cache.FallbackRedisCache",
            "LOCATION": location,
            "KEY_PREFIX": KEY_PREFIX,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }


@pytest.fixture
def redis_down(settings):
    # A real Redis URL on a port nobody listens on: connections are refused. The
    # client name keeps each test's outage apart even if a port comes round again.
    name = f"gh-ops-{uuid.uuid4().hex[:8]}"
    _cache_at(settings, f"redis://127.0.0.1:{free_port()}/0?client_name={name}")


def _login(client, email: str, password: str):
    return client.post(LOGIN, {"email": email, "password": password}, format="json")


@pytest.mark.django_db
def test_login_succeeds_while_redis_is_down(api_client, approved_user, redis_down):
    response = _login(api_client, approved_user.email, DEFAULT_PASSWORD)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["access"]


@pytest.mark.django_db
def test_a_wrong_password_answers_401_while_redis_is_down(
    api_client, approved_user, redis_down
):
    response = _login(api_client, approved_user.email, "not-the-password")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "invalid_credentials"


@pytest.mark.django_db
def test_throttles_count_in_the_process_while_redis_is_down(
    api_client, redis_down, settings
):
    settings.THROTTLE_RATES = {"signin_ip": "100/minute", "signin_account": "2/minute"}
    for _ in range(2):
        _login(api_client, "victim@example.com", "wrong")

    response = _login(api_client, "victim@example.com", "wrong")

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response.json()["code"] == "throttled"


@pytest.mark.django_db
def test_the_outage_is_logged_once_not_on_every_request(api_client, redis_down, caplog):
    with caplog.at_level(logging.WARNING, logger="core.redis_cache"):
        for _ in range(3):
            _login(api_client, "someone@example.com", "wrong")

    warnings = [r for r in caplog.records if r.name == "core.redis_cache"]
    assert len(warnings) == 1
    assert "Cache unreachable" in warnings[0].getMessage()


@pytest.mark.django_db
def test_web_login_page_answers_while_redis_is_down(client, approved_user, redis_down):
    response = client.post(
        "/accounts/login/", {"login": approved_user.email, "password": "wrong"}
    )

    assert response.status_code == HTTPStatus.OK  # the form again, with its error


@pytest.mark.django_db
def test_health_reports_the_cache_unavailable_and_stays_200(api_client, redis_down):
    response = api_client.get("/health")

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["status"] == "degraded"
    assert body["cache"] == "unavailable"
    assert body["database"] == "ok"


@pytest.mark.django_db
def test_health_reports_a_reachable_redis_as_ok(api_client, settings):
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if services_required():
            raise
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    _cache_at(settings, REDIS_URL)

    response = api_client.get("/health")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["status"] == "ok"
    assert response.json()["cache"] == "ok"


def test_redis_url_selects_the_cache_that_falls_back():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
    code = "from django.conf import settings; print(settings.CACHES['default'])"

    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=Path(django_settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert "core.redis_cache.FallbackRedisCache" in result.stdout, result.stderr


@pytest.mark.django_db
def test_a_whole_session_works_while_redis_is_down(
    api_client, approved_user, redis_down
):
    tokens = _login(api_client, approved_user.email, DEFAULT_PASSWORD).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    me = api_client.get("/api/v1/auth/me/")
    created = api_client.post(
        "/api/v1/resources/", {"title": "During the outage"}, format="json"
    )
    listed = api_client.get("/api/v1/resources/")
    refreshed = api_client.post(
        "/api/v1/auth/refresh/", {"refresh": tokens["refresh"]}, format="json"
    )
    logged_out = api_client.post(
        "/api/v1/auth/logout/", {"refresh": refreshed.json()["refresh"]}, format="json"
    )
    after_logout = api_client.get("/api/v1/auth/me/")

    assert me.status_code == HTTPStatus.OK
    assert created.status_code == HTTPStatus.CREATED
    assert listed.json()["count"] == 1
    assert refreshed.status_code == HTTPStatus.OK
    assert logged_out.status_code == HTTPStatus.NO_CONTENT
    assert after_logout.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_a_password_reset_is_accepted_while_redis_is_down(
    api_client, approved_user, redis_down, mailoutbox
):
    response = api_client.post(
        "/api/v1/auth/password/reset/", {"email": approved_user.email}, format="json"
    )

    assert response.status_code == HTTPStatus.ACCEPTED
    assert len(mailoutbox) == 1
