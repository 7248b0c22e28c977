"""Logs: one JSON object per line in production, each with the request's id, no secrets."""

from __future__ import annotations

import io
import json
import logging
from http import HTTPStatus

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from config.observability import TEXT_FORMAT, log_format_from_env, logging_config
from core import logs
from core.logs import JsonFormatter, url_secrets
from core.request_id import RequestIdFilter
from core.tests.web_process import fetch, web_server

SECRET = "s3cr3t-bearer-value-that-must-not-be-logged"
QUERY_SECRET = "query-string-token-that-must-not-be-logged"
SHARE_TOKEN = "share-token-in-the-path-that-must-not-be-logged"


@pytest.fixture
def json_lines():
    """Every log record of this test, formatted by the production JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)

    def lines() -> list[dict]:
        handler.flush()
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    lines.raw = stream.getvalue  # type: ignore[attr-defined]
    yield lines
    root.removeHandler(handler)


def test_a_log_line_is_one_json_object_with_the_standard_fields(json_lines):
    logging.getLogger("gatehouse.test").warning(
        "%s approved", "ada@example.com", extra={"count": 2}
    )

    [line] = json_lines()
    assert list(line)[:5] == ["time", "level", "logger", "message", "request_id"]
    assert line["level"] == "WARNING"
    assert line["logger"] == "gatehouse.test"
    assert line["message"] == "ada@example.com approved"
    assert line["request_id"] == "-"
    assert line["count"] == 2
    assert line["time"].endswith("+00:00")


def test_an_exception_is_logged_within_its_one_line(json_lines):
    try:
        raise ValueError("bad value")
    except ValueError:
        logging.getLogger("gatehouse.test").exception("it failed")

    [line] = json_lines()
    assert "ValueError: bad value" in line["exc_info"]


def test_a_request_log_line_carries_the_id_in_the_response_header(json_lines):
    response = Client().get("/api/v1/no-such-thing/")

    [line] = [line for line in json_lines() if line["logger"] == "django.request"]
    assert line["request_id"] == response["X-Request-ID"]
    assert line["status"] == HTTPStatus.NOT_FOUND
    assert line["message"] == "Not Found: /api/v1/no-such-thing/"


def test_a_server_error_is_logged_with_the_request_id_and_traceback(json_lines):
    client = Client(raise_request_exception=False)

    with override_settings(ROOT_URLCONF="core.tests.boom_urls"):
        response = client.get("/api/v1/boom/", HTTP_X_REQUEST_ID="trace-500")

    [line] = [line for line in json_lines() if line["logger"] == "django.request"]
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert line["request_id"] == "trace-500"
    assert line["level"] == "ERROR"
    assert "RuntimeError" in line["exc_info"]


@pytest.mark.django_db
def test_credentials_query_strings_and_share_tokens_are_not_logged(json_lines):
    client = Client(raise_request_exception=False)

    client.get(
        f"/api/v1/no-such-thing/?token={QUERY_SECRET}",
        HTTP_AUTHORIZATION=f"Bearer {SECRET}",
        HTTP_COOKIE=f"sessionid={SECRET}",
    )
    client.get(f"/api/v1/public/resources/{SHARE_TOKEN}/")
    with override_settings(ROOT_URLCONF="core.tests.boom_urls"):
        client.post(
            f"/api/v1/boom/{SHARE_TOKEN}/?token={QUERY_SECRET}",
            {"password": SECRET},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {SECRET}",
        )

    output = json_lines.raw()
    messages = [line["message"] for line in json_lines()]
    assert "Not Found: /api/v1/public/resources/[redacted]/" in messages
    assert "Internal Server Error: /api/v1/boom/[redacted]/" in messages
    for secret in (SECRET, QUERY_SECRET, SHARE_TOKEN, "Authorization"):
        assert secret not in output


def test_local_logs_are_plain_text_with_the_request_id():
    config = logging_config(log_format="text", level="INFO")

    assert config["formatters"]["default"] == {"format": TEXT_FORMAT}
    assert "%(request_id)s" in TEXT_FORMAT
    assert config["handlers"]["console"]["filters"] == ["request_id"]


def test_production_logs_json_on_stdout_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("LOG_FORMAT", raising=False)

    assert log_format_from_env(is_production=True) == "json"
    assert log_format_from_env(is_production=False) == "text"
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    assert log_format_from_env(is_production=False) == "json"
    config = logging_config(log_format="json", level="INFO")
    assert config["handlers"]["console"]["stream"] == "ext://sys.stdout"


def test_an_unknown_log_format_fails_at_start_up(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "xml")

    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT"):
        log_format_from_env(is_production=False)


def test_the_web_server_and_django_write_json_lines_with_the_request_id(tmp_path):
    with web_server(
        tmp_path,
        env={
            "LOG_FORMAT": "json",
            "DJANGO_SETTINGS_MODULE": "core.tests.boom_settings",
        },
    ) as server:
        missing = fetch(
            f"{server.url}/api/v1/no-such-thing/?token={QUERY_SECRET}",
            headers={"Authorization": f"Bearer {SECRET}", "X-Request-ID": "edge-42"},
        )
        failing = fetch(f"{server.url}/api/v1/boom/{SHARE_TOKEN}/")
    stdout = server.stdout.read_text()

    lines = [json.loads(line) for line in stdout.splitlines()]  # all of them JSON
    access = [line for line in lines if line["logger"] == "web.access"]
    assert access[0] == {
        **access[0],
        "level": "INFO",
        "message": "GET /api/v1/no-such-thing/ 404",
        "method": "GET",
        "path": "/api/v1/no-such-thing/",
        "status": 404,
        "request_id": "edge-42",
    }
    assert access[0]["duration_ms"] >= 0
    assert access[1]["path"] == "/api/v1/boom/[redacted]/"
    assert access[1]["request_id"] == failing.headers["X-Request-ID"]
    errors = [line for line in lines if line["logger"] == "django.request"]
    assert [line["request_id"] for line in errors] == [
        missing.headers["X-Request-ID"],
        failing.headers["X-Request-ID"],
    ]
    assert any(line["logger"] == "_granian" for line in lines)  # the server's own
    for secret in (SECRET, QUERY_SECRET, SHARE_TOKEN):
        assert secret not in server.output()


def test_access_lines_are_written_whatever_log_level_says(tmp_path):
    env = {"LOG_FORMAT": "json", "LOG_LEVEL": "ERROR"}
    with web_server(tmp_path, env=env) as server:
        fetch(f"{server.url}/api/v1/no-such-thing/", headers={"Host": "localhost"})

    lines = [json.loads(line) for line in server.stdout.read_text().splitlines()]
    assert [line["status"] for line in lines if line["logger"] == "web.access"] == [404]


def test_text_access_lines_leave_out_the_query_string(tmp_path):
    with web_server(tmp_path, env={"LOG_FORMAT": "text"}) as server:
        fetch(
            f"{server.url}/api/v1/no-such-thing/?token={QUERY_SECRET}",
            headers={"X-Request-ID": "text-7"},
        )

    assert "GET /api/v1/no-such-thing/ 404 " in server.stdout.read_text()
    assert "request_id=text-7" in server.stdout.read_text()
    assert QUERY_SECRET not in server.output()


def test_a_path_seen_without_secrets_is_remembered_and_one_with_a_secret_is_not():
    share_path = f"/api/v1/public/resources/{SHARE_TOKEN}/"
    assert url_secrets(share_path) == [SHARE_TOKEN]  # the pattern's token, resolved

    assert url_secrets("/api/v1/auth/me/") == []
    assert url_secrets(share_path) == [SHARE_TOKEN]  # again: resolved each time

    kept = {path for _, path in logs._SECRET_FREE}
    assert "/api/v1/auth/me/" in kept
    assert not any(SHARE_TOKEN in path for path in kept)


def test_a_remembered_path_is_resolved_again_under_another_urlconf(monkeypatch):
    assert url_secrets("/api/v1/auth/me/") == []
    resolved = []
    resolve = logs._resolve
    monkeypatch.setattr(
        logs, "_resolve", lambda path: resolved.append(path) or resolve(path)
    )

    url_secrets("/api/v1/auth/me/")
    with override_settings(ROOT_URLCONF="core.tests.boom_urls"):
        url_secrets("/api/v1/auth/me/")

    assert resolved == ["/api/v1/auth/me/"]  # only under the other URLconf
