"""Draining: after SIGTERM /health answers 503 while requests are still served
(DRAIN_SECONDS, config/serve.py), so a load balancer that routes by health checks
takes the instance out before it stops accepting."""

from __future__ import annotations

import subprocess
import sys
import time
from http import HTTPStatus

import pytest

from core import health
from core.tests.legs import sqlite_leg_only
from core.tests.served_app import (
    BASE_DIR,
    clean_env,
    database_copy,
    free_port,
    http_request,
    stop,
    wait_for_port,
)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/health", "/api/v1/health/"])
def test_a_draining_process_reports_503_draining(api_client, path):
    health.draining_start()

    response = api_client.get(path)

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["status"] == "draining"
    assert response.json()["database"] == "ok"


@pytest.mark.django_db
def test_a_draining_process_still_answers_other_requests(api_client):
    health.draining_start()

    response = api_client.get("/api/v1/resources/")

    assert response.status_code == HTTPStatus.UNAUTHORIZED  # answered, not refused


@sqlite_leg_only
def test_the_web_server_drains_on_sigterm_then_stops(
    served_database_template, tmp_path
):
    port = free_port()
    env = clean_env(
        database_copy(served_database_template, tmp_path),
        DRAIN_SECONDS="2",
        # Two workers: the flag the main process writes reaches each of them.
        WEB_CONCURRENCY="2",
        PORT=str(port),
        WEB_BIND_ADDRESS="127.0.0.1",
    )
    with (tmp_path / "web.log").open("w") as log:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "config.serve"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, process=process, timeout=30)
        assert http_request(port, "GET", "/health").status == HTTPStatus.OK

        process.terminate()
        deadline = time.monotonic() + 10
        while (probe := http_request(port, "GET", "/health")).status == HTTPStatus.OK:
            assert time.monotonic() < deadline, "/health never turned to 503"
            time.sleep(0.05)
        # New connections, so each worker answers some of them.
        probes = [http_request(port, "GET", "/health") for _ in range(10)]
        during = http_request(port, "GET", "/api/v1/resources/")

        assert probe.status == HTTPStatus.SERVICE_UNAVAILABLE
        assert {p.status for p in probes} == {HTTPStatus.SERVICE_UNAVAILABLE}
        assert probe.json()["status"] == "draining"
        assert during.status == HTTPStatus.UNAUTHORIZED  # still served
        assert process.wait(timeout=30) == 0
    finally:
        stop(process)
