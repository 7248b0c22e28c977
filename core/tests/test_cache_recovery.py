"""Redis stopped and started again: sign-in never fails, and counting returns to Redis.

A private redis-server on a free port is stopped and started; the shared one on
6379 is never touched.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
import uuid
from http import HTTPStatus

import pytest
import redis

from conftest import DEFAULT_PASSWORD, services_required
from core.tests.legs import sqlite_leg_only
from core.tests.served_app import free_port

pytestmark = sqlite_leg_only

LOGIN = "/api/v1/auth/login/"
KEY_PREFIX = "gh-cache-recovery"


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.client = redis.Redis(port=self.port, socket_connect_timeout=1)

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [  # noqa: S607
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def throttle_keys(self) -> list:
        return self.client.keys(f"{KEY_PREFIX}:*throttle:*")


@pytest.fixture
def private_redis(settings):
    if shutil.which("redis-server") is None:
        if services_required():
            pytest.fail("redis-server is not installed")
        pytest.skip("redis-server is not installed")
    server = PrivateRedis()
    server.start()
    settings.HEALTH_CACHE_SECONDS = 0  # each probe looks afresh
    # The client name keeps this test's fallback state apart from any other's.
    name = f"gh-recovery-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "core.redis_cache.FallbackRedisCache",
            "LOCATION": f"redis://127.0.0.1:{server.port}/0?client_name={name}",
            "KEY_PREFIX": KEY_PREFIX,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    yield server
    server.stop()


def _login(client, email: str, password: str = DEFAULT_PASSWORD):
    return client.post(LOGIN, {"email": email, "password": password}, format="json")


@pytest.mark.django_db
def test_sign_in_survives_redis_stopping_and_counts_there_again_once_it_is_back(
    api_client, approved_user, private_redis, caplog
):
    before = _login(api_client, approved_user.email)
    counted_before = private_redis.throttle_keys()
    private_redis.stop()

    with caplog.at_level(logging.WARNING, logger="core.redis_cache"):
        during = _login(api_client, approved_user.email)
        health_during = api_client.get("/health").json()
    private_redis.start()  # empty, as a restarted Redis without persistence is
    health_after = api_client.get("/health").json()
    after = _login(api_client, approved_user.email)

    assert [before.status_code, during.status_code, after.status_code] == [
        HTTPStatus.OK
    ] * 3
    assert counted_before  # the throttles counted in Redis
    assert any("Cache unreachable" in r.getMessage() for r in caplog.records)
    assert (health_during["status"], health_during["cache"]) == (
        "degraded",
        "unavailable",
    )
    assert (health_after["status"], health_after["cache"]) == ("ok", "ok")
    assert private_redis.throttle_keys()  # counting is shared again
