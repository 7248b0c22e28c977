"""The app as production runs it, for fault rehearsals: the Procfile's lines as
processes, IS_PRODUCTION settings, a database URL of the test's choosing.

Media stay on local disk (ALLOW_LOCAL_MEDIA_IN_PRODUCTION), so a test can list
every stored file; the cloud backends have rehearsals of their own.
"""

from __future__ import annotations

import http.client
import json
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from django.conf import settings

from core.tests.served_app import free_port

ROOT = Path(settings.BASE_DIR)
HOST = "gatehouse.test"
ADMIN_EMAIL, ADMIN_PASSWORD = "ops@gatehouse.test", "a-long-rehearsal-passphrase"


def procfile_line(kind: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == kind:
            return command.strip()
    raise AssertionError(f"Procfile has no {kind}: line")


def production_env(*, database_url: str, media_root: Path, **extra: str) -> dict:
    """Only what a Render service would have, with local media."""
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(Path.home()),
        "PYTHONUNBUFFERED": "1",
        "IS_PRODUCTION": "true",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database_url,
        "ALLOWED_HOSTS": HOST,
        "BASE_URL": f"https://{HOST}",
        "NUM_PROXIES": "1",
        "WEB_CONCURRENCY": "2",
        "PORT": str(free_port()),
        "ALLOW_LOCAL_MEDIA_IN_PRODUCTION": "true",
        "MEDIA_ROOT": str(media_root),
        "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD,
        **extra,
    }


def run(command: str, env: dict[str, str], timeout: int = 180) -> str:
    result = subprocess.run(  # noqa: S603
        ["bash", "-c", command],  # noqa: S607
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def release(env: dict[str, str]) -> None:
    """The Procfile's release command, then the first admin."""
    run(procfile_line("release"), env)
    run(f"python manage.py createsuperuser --no-input --email {ADMIN_EMAIL}", env)


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Site:
    """HTTP to the web server under test, as Render's proxy would forward it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.bearer: dict[str, str] = {}

    def connection(self, timeout: float = 30) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            "Host": HOST,
            "X-Forwarded-Proto": "https",
            **self.bearer,
            **(extra or {}),
        }

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> Answer:
        all_headers = self.headers(headers)
        if isinstance(body, dict):
            body = json.dumps(body)
            all_headers["Content-Type"] = "application/json"
        conn = self.connection(timeout)
        try:
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            return Answer(
                response.status,
                response.getheader("Content-Type") or "",
                response.read(),
            )
        finally:
            conn.close()

    def sign_in(self) -> None:
        answer = self.request(
            "POST",
            "/api/v1/auth/login/",
            {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        )
        assert answer.status == HTTPStatus.OK, answer.body
        self.bearer = {"Authorization": f"Bearer {answer.json()['access']}"}


@contextmanager
def web(env: dict[str, str], log: Path) -> Iterator[tuple[Site, subprocess.Popen]]:
    """The web server from the Procfile's web line, once /health answers 200."""
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603
            ["bash", "-c", f"exec {procfile_line('web')}"],  # noqa: S607
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    site = Site(int(env["PORT"]))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if site.request("GET", "/health").status == HTTPStatus.OK:
                    break
            except OSError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"the web server did not come up\n{log}"
            time.sleep(0.2)
        yield site, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


@dataclass
class Outcome:
    client: int
    kind: str  # "write" or "read"
    started: float
    ended: float
    status: int | None  # None: no answer (connection refused or reset)
    content_type: str = ""
    body: bytes = b""
    title: str = ""

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    def code(self) -> str | None:
        try:
            return json.loads(self.body).get("code")
        except ValueError:
            return None


class Load:
    """Client threads, each alternating a write (POST /resources/) and a read."""

    def __init__(self, site: Site, *, clients: int, label: str = "load") -> None:
        self.site = site
        self.label = label
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._client, args=(n,), daemon=True)
            for n in range(clients)
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _client(self, client: int) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            title = f"{self.label}-{client}-{n}"
            self._record(client, "write", title, "POST", "/api/v1/resources/", title)
            self._record(client, "read", "", "GET", "/api/v1/resources/?page_size=5")

    def _record(
        self, client: int, kind: str, title: str, method: str, path: str, *body: str
    ) -> None:
        started = time.monotonic()
        try:
            answer = self.site.request(
                method, path, {"title": body[0]} if body else None, timeout=20
            )
        except OSError:
            outcome = Outcome(client, kind, started, time.monotonic(), None)
            time.sleep(0.05)  # nothing listens: do not spin
        else:
            outcome = Outcome(
                client,
                kind,
                started,
                time.monotonic(),
                answer.status,
                answer.content_type,
                answer.body,
                title,
            )
        with self._lock:
            self.outcomes.append(outcome)

    def snapshot(self) -> list[Outcome]:
        with self._lock:
            return list(self.outcomes)

    def acknowledged_titles(self) -> set[str]:
        return {
            o.title
            for o in self.snapshot()
            if o.kind == "write" and o.status == HTTPStatus.CREATED
        }
