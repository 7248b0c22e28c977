"""GET /health under a WSGI server: answered ahead of Django's handler, logged only
when it fails (config/wsgi.py, core/health.HealthProbeApp, config/access_log.py)."""

from __future__ import annotations

import io
import json
import sys
import time
from http import HTTPStatus
from pathlib import Path

import psycopg
import pytest
from django.core.signals import request_finished, request_started
from django.db import connection

from config.wsgi import application
from core import health
from core.postgresql.base import HEALTH_CHECK_AFTER_IDLE
from core.tests.web_process import fetch, web_server


def call(path: str, *, host: str = "testserver", **headers: str):
    """The project's WSGI application, called as a server calls it."""
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": host,
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
    }
    started = []

    def start_response(status, response_headers, exc_info=None):
        started.append((int(status.split()[0]), dict(response_headers)))

    chunks = application(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    ((status, response_headers),) = started
    return status, response_headers, body


@pytest.fixture
def signals_seen():
    seen = []

    def note(signal, **kwargs):
        seen.append(signal)

    request_started.connect(note)
    request_finished.connect(note)
    yield seen
    request_started.disconnect(note)
    request_finished.disconnect(note)


@pytest.mark.django_db(transaction=True)
def test_a_probe_is_answered_without_djangos_request_handling(signals_seen):
    status, headers, body = call("/health", X_REQUEST_ID="lb-7")

    assert status == HTTPStatus.OK
    assert json.loads(body)["database"] == "ok"
    assert headers["X-Request-ID"] == "lb-7"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert signals_seen == []


@pytest.mark.django_db(transaction=True)
def test_any_other_path_goes_through_django(signals_seen):
    status, _, _ = call("/api/v1/health/")

    assert status == HTTPStatus.OK
    assert signals_seen == [request_started, request_finished]


@pytest.mark.django_db(transaction=True)
def test_a_probe_with_a_host_not_allowed_gets_djangos_400(signals_seen):
    status, _, body = call("/health", host="attacker.example")

    assert status == HTTPStatus.BAD_REQUEST
    assert request_started in signals_seen


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="ends a server backend")
def test_a_probe_reconnects_when_the_database_dropped_its_connection():
    health.readiness_forget()
    assert call("/health")[0] == HTTPStatus.OK
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    # The backend ends itself, as a database restart or failover would end it.
    with (
        pytest.raises(psycopg.errors.AdminShutdown),
        connection.connection.cursor() as cursor,
    ):
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    health.readiness_forget()
    # Refreshes come HEALTH_CACHE_SECONDS apart, past the backend's window in
    # which a connection just used is trusted without a check (core/postgresql).
    time.sleep(HEALTH_CHECK_AFTER_IDLE + 0.1)

    status, _, body = call("/health")

    assert status == HTTPStatus.OK, body
    assert connection.connection.info.backend_pid != pid


def _access_lines(stdout: Path) -> list[dict]:
    lines = [json.loads(line) for line in stdout.read_text().splitlines()]
    return [line for line in lines if line["logger"] == "web.access"]


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'probe.sqlite3'}"


def test_under_the_web_server_a_healthy_probe_writes_no_access_line(tmp_path):
    env = {"LOG_FORMAT": "json", "DATABASE_URL": _sqlite(tmp_path)}
    with web_server(tmp_path, env=env) as server:
        probe = fetch(f"{server.url}/health", headers={"Host": "localhost"})
        other = fetch(f"{server.url}/api/v1/health/", headers={"Host": "localhost"})

    assert probe.status == other.status == HTTPStatus.OK
    assert probe.headers["X-Content-Type-Options"] == "nosniff"
    assert [line["path"] for line in _access_lines(server.stdout)] == [
        "/api/v1/health/"
    ]


def test_under_the_web_server_a_failing_probe_is_logged(tmp_path):
    env = {
        "LOG_FORMAT": "json",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/unreachable",
    }
    with web_server(tmp_path, env=env) as server:
        probe = fetch(f"{server.url}/health", headers={"Host": "localhost"})

    assert probe.status == HTTPStatus.SERVICE_UNAVAILABLE
    (line,) = _access_lines(server.stdout)
    assert (line["path"], line["status"]) == ("/health", 503)


def test_log_health_probes_logs_every_probe(tmp_path):
    env = {
        "LOG_FORMAT": "json",
        "DATABASE_URL": _sqlite(tmp_path),
        "LOG_HEALTH_PROBES": "true",
    }
    with web_server(tmp_path, env=env) as server:
        probe = fetch(f"{server.url}/health", headers={"Host": "localhost"})

    assert probe.status == HTTPStatus.OK
    assert [line["path"] for line in _access_lines(server.stdout)] == ["/health"]
