"""Sentry, when SENTRY_DSN is set: errors reach it, credentials and personal data don't.

The web server serves the project in a child process whose DSN points at a local stand-in
for Sentry's ingest endpoint, which keeps every envelope it is sent.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings

from config.observability import sentry_before_send, traces_sample_rate_from_env
from core.tests.boom_urls import BOOM_MESSAGE
from core.tests.web_process import fetch, web_server

BEARER = "bearer-value-sentry-must-not-see"
COOKIE = "cookie-value-sentry-must-not-see"
QUERY = "query-value-sentry-must-not-see"
PASSWORD = "password-sentry-must-not-see"
REFRESH = "refresh-token-sentry-must-not-see"
SHARE = "share-token-sentry-must-not-see"
SECRETS = (BEARER, COOKIE, QUERY, PASSWORD, REFRESH, SHARE)


class FakeSentry(ThreadingHTTPServer):
    """Answers envelope POSTs with 200 and keeps their decoded bodies."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EnvelopeHandler)
        self.envelopes: list[bytes] = []
        self.paths: list[str] = []

    @property
    def dsn(self) -> str:
        return f"http://public@127.0.0.1:{self.server_address[1]}/1"

    def events(self) -> list[dict]:
        return [
            payload
            for envelope in self.envelopes
            for kind, payload in _items(envelope)
            if kind == "event"
        ]

    def item_types(self) -> set[str]:
        return {kind for envelope in self.envelopes for kind, _ in _items(envelope)}


class _EnvelopeHandler(BaseHTTPRequestHandler):
    server: FakeSentry

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":
            import brotli

            body = brotli.decompress(body)
        self.server.paths.append(self.path)
        self.server.envelopes.append(body)
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


def _items(envelope: bytes) -> Iterator[tuple[str, dict]]:
    """(type, payload) of each item: a header line, then a line of JSON payload."""
    lines = envelope.split(b"\n")[1:]  # the first line is the envelope's header
    while len(lines) >= 2 and lines[0]:
        header = json.loads(lines[0])
        payload = lines[1]
        try:
            yield header.get("type", ""), json.loads(payload)
        except ValueError:
            yield header.get("type", ""), {}
        lines = lines[2:]


@pytest.fixture
def fake_sentry() -> Iterator[FakeSentry]:
    server = FakeSentry()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _wait_for_event(server: FakeSentry, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if events := server.events():
            return events[0]
        time.sleep(0.1)
    raise AssertionError(f"no event reached the fake Sentry: {server.envelopes!r}")


def test_an_unhandled_error_reaches_sentry_without_credentials(tmp_path, fake_sentry):
    with web_server(
        tmp_path,
        env={
            "DJANGO_SETTINGS_MODULE": "core.tests.boom_settings",
            "DEBUG": "false",
            "SENTRY_DSN": fake_sentry.dsn,
            "SENTRY_ENVIRONMENT": "rehearsal",
        },
    ) as server:
        response = fetch(
            f"{server.url}/api/v1/boom/{SHARE}/?token={QUERY}",
            method="POST",
            headers={
                "Authorization": f"Bearer {BEARER}",
                "Cookie": f"sessionid={COOKIE}; csrftoken={COOKIE}",
                "Content-Type": "application/json",
                "X-Forwarded-For": "203.0.113.9",
            },
            body=json.dumps({"password": PASSWORD, "refresh": REFRESH}).encode(),
        )
        event = _wait_for_event(fake_sentry)

    assert response.status == HTTPStatus.INTERNAL_SERVER_ERROR
    assert json.loads(response.body)["code"] == "server_error"
    assert fake_sentry.paths[0].startswith("/api/1/envelope/")
    [exception] = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert BOOM_MESSAGE in exception["value"]
    assert exception["stacktrace"]["frames"]
    assert not any("vars" in frame for frame in exception["stacktrace"]["frames"])
    assert event["environment"] == "rehearsal"
    assert event["release"] == settings.VERSION
    assert event["request"]["url"].endswith("/api/v1/boom/[redacted]/")
    assert event["request"]["method"] == "POST"
    headers = event["request"]["headers"]
    assert headers["Authorization"] == headers["Cookie"] == "[Filtered]"
    assert not headers.get("X-Forwarded-For")
    assert not event["request"].get("cookies")
    assert not event["request"].get("data")  # request bodies are never sent
    assert "user" not in event
    raw = b"".join(fake_sentry.envelopes)
    for secret in (*SECRETS, "203.0.113.9"):
        assert secret.encode() not in raw, secret
    assert "transaction" not in fake_sentry.item_types()  # traces sample rate 0


def test_without_a_dsn_sentry_is_not_started():
    import sentry_sdk

    assert not settings.SENTRY_DSN
    assert not sentry_sdk.get_client().is_active()


def test_before_send_drops_the_query_string_and_redacts_path_secrets():
    event = {
        "request": {
            "url": f"https://api.example.com/api/v1/public/resources/{SHARE}/",
            "query_string": f"token={QUERY}",
        }
    }

    scrubbed = sentry_before_send(event, {})

    assert scrubbed["request"] == {
        "url": "https://api.example.com/api/v1/public/resources/[redacted]/"
    }


@pytest.mark.parametrize("raw", ["-0.1", "1.5", "often"])
def test_a_bad_traces_sample_rate_fails_at_start_up(monkeypatch, raw):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("SENTRY_TRACES_SAMPLE_RATE", raw)

    with pytest.raises(ImproperlyConfigured, match="SENTRY_TRACES_SAMPLE_RATE"):
        traces_sample_rate_from_env()


def test_the_traces_sample_rate_defaults_to_zero(monkeypatch):
    monkeypatch.delenv("SENTRY_TRACES_SAMPLE_RATE", raising=False)

    assert traces_sample_rate_from_env() == 0.0
