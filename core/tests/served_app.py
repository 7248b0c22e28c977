"""The app run as real processes for tests: clean environment, ports, waits, HTTP."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "a-long-served-passphrase"
_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "SYSTEMROOT")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_env(database: Path, **overrides: str) -> dict[str, str]:
    """Only what a fresh shell has, so the test's own settings never leak in."""
    env = {name: os.environ[name] for name in _KEPT if name in os.environ}
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "MEDIA_ROOT": str(database.parent / "assets"),
        "PYTHONUNBUFFERED": "1",
    }
    return env | overrides


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result


def migrated_database(directory: Path) -> Path:
    """A migrated SQLite file holding one approved admin (ADMIN_EMAIL)."""
    database = directory / "db.sqlite3"
    env = clean_env(database, DJANGO_SUPERUSER_PASSWORD=ADMIN_PASSWORD)
    # One process for both commands: Django starts once.
    script = (
        "from django.core.management import call_command\n"
        "call_command('migrate', interactive=False, verbosity=0)\n"
        f"call_command('createsuperuser', interactive=False, email={ADMIN_EMAIL!r})\n"
    )
    manage("shell", "--no-imports", "-c", script, env=env)
    return database


def database_copy(template: Path, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(template, directory / "db.sqlite3"))


def wait_for_port(
    port: int, *, process: subprocess.Popen | None = None, timeout: float = 20
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listened on port {port} within {timeout} s")


@contextlib.contextmanager
def runserver(
    port: int, env: dict[str, str], *, console: Path | None = None
) -> Iterator[subprocess.Popen]:
    """`manage.py runserver` on 127.0.0.1:port without the autoreloader, once it
    listens; stopped after. Its console goes to `console` when given."""
    if console is None:
        output: Any = subprocess.DEVNULL
    else:
        output = console.open("wb")
    try:
        process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "manage.py",
                "runserver",
                f"127.0.0.1:{port}",
                "--noreload",
            ],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    finally:
        if console is not None:
            output.close()  # the child holds its own copy
    try:
        wait_for_port(port, process=process, timeout=30)
        yield process
    finally:
        stop(process)


def port_is_closed(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except OSError:
        return True


def stop(process: subprocess.Popen, *, group: bool = False) -> None:
    """Stops a child (and, with group=True, everything it started) for certain."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    if group:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def text(self) -> str:
        return self.body.decode()


def http_request(
    port: int,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    json_body: Any = None,
    bearer: str | None = None,
) -> Reply:
    """One request to 127.0.0.1:port; redirects are returned, not followed."""
    headers = dict(headers or {})
    if json_body is not None:
        body = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Reply(response.status, response.msg, response.read())
    finally:
        connection.close()


def multipart(field: str, filename: str, content: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with one file; returns it with its Content-Type."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"
