"""Sign-in throttles: per IP and per account, shared through the cache."""

import os
import subprocess
import sys
import uuid
from http import HTTPStatus
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings

from conftest import services_required

LOGIN = "/api/v1/auth/login/"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _attempt(client, email="victim@example.com", **extra):
    return client.post(
        LOGIN, {"email": email, "password": "wrong"}, format="json", **extra
    )


@pytest.fixture
def tight_limits(settings):
    settings.THROTTLE_RATES = {
        **settings.THROTTLE_RATES,
        "signin_ip": "3/minute",
        "signin_account": "2/minute",
    }


@pytest.mark.django_db
def test_too_many_attempts_on_one_account_answer_429_with_retry_after(
    api_client, tight_limits
):
    for i in range(2):
        _attempt(api_client, REMOTE_ADDR=f"10.0.0.{i}")

    response = _attempt(api_client, REMOTE_ADDR="10.0.0.9")

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response.json()["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60


@pytest.mark.django_db
def test_too_many_attempts_from_one_ip_answer_429_across_accounts(
    api_client, tight_limits
):
    for i in range(3):
        _attempt(api_client, email=f"user{i}@example.com")

    response = _attempt(api_client, email="someone-else@example.com")

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS


@pytest.mark.django_db
def test_a_forged_forwarded_for_header_does_not_dodge_the_ip_limit(
    api_client, tight_limits, settings
):
    settings.NUM_PROXIES = 0
    for i in range(3):
        _attempt(
            api_client, email=f"u{i}@example.com", HTTP_X_FORWARDED_FOR=f"1.1.1.{i}"
        )

    response = _attempt(
        api_client, email="x@example.com", HTTP_X_FORWARDED_FOR="9.9.9.9"
    )

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS


@pytest.mark.django_db
def test_behind_one_trusted_proxy_the_last_forwarded_hop_is_the_client(
    api_client, tight_limits, settings
):
    settings.NUM_PROXIES = 1
    for i in range(3):
        # A client prepends junk; the proxy appends the real address last.
        _attempt(
            api_client,
            email=f"u{i}@example.com",
            HTTP_X_FORWARDED_FOR=f"6.6.6.{i}, 5.5.5.5",
        )

    blocked = _attempt(
        api_client, email="a@example.com", HTTP_X_FORWARDED_FOR="5.5.5.5"
    )
    other = _attempt(api_client, email="b@example.com", HTTP_X_FORWARDED_FOR="7.7.7.7")

    assert blocked.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert other.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/auth/google/",
        "/api/v1/auth/register/",
        "/api/v1/auth/request-access/",
        "/api/v1/auth/password/reset/",
        "/api/v1/auth/code/request/",
        "/api/v1/auth/code/confirm/",
    ],
)
def test_other_sign_in_endpoints_are_throttled_per_ip(api_client, tight_limits, path):
    for i in range(3):
        api_client.post(path, {"email": f"p{i}@example.com"}, format="json")

    response = api_client.post(path, {"email": "last@example.com"}, format="json")

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS


def _redis_or_skip() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if services_required():
            raise
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")


@pytest.mark.django_db
@pytest.mark.parametrize("path", [LOGIN, "/api/v1/auth/code/confirm/"])
def test_separate_processes_count_together_through_redis(
    api_client, settings, throttle_clock_offset, path
):
    _redis_or_skip()
    # Keys of this run only: other runs may share the Redis server.
    prefix, email = f"test-{uuid.uuid4().hex}", f"{uuid.uuid4().hex}@example.com"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    settings.THROTTLE_RATES = {"signin_ip": "100/minute", "signin_account": "3/minute"}
    # Another server process: its own interpreter and cache client, same Redis.
    other_process = f"""
import time, types
import django
django.setup()
import core.throttling
core.throttling.time = types.SimpleNamespace(
    time=lambda: time.time() + {throttle_clock_offset!r}
)
from django.conf import settings
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory
from core.throttling import SignInAccountThrottle
settings.THROTTLE_RATES = {settings.THROTTLE_RATES!r}
for _ in range(3):
    raw = APIRequestFactory().post("{LOGIN}", {{"email": "{email}"}}, format="json")
    assert SignInAccountThrottle().allow_request(Request(raw, parsers=[JSONParser()]), None)
"""
    env = {
        **os.environ,
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": prefix,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    subprocess.run(  # noqa: S603
        [sys.executable, "-c", other_process],
        cwd=Path(django_settings.BASE_DIR),
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
    )

    # A code sign-in draws on the same per-address budget as a password one.
    response = api_client.post(
        path, {"email": email, "password": "wrong", "code": "WRONG"}, format="json"
    )

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
