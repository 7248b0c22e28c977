"""The project's web server (config/serve.py, granian) in a child process on
127.0.0.1, for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from django.conf import settings

from core.tests.served_app import free_port, wait_for_port

STARTUP_SECONDS = 30


@dataclass
class Served:
    url: str
    stdout: Path
    stderr: Path
    pid: int = 0  # the server's main process

    def worker_pids(self) -> list[int]:
        return [
            int(child)
            for task in Path(f"/proc/{self.pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        ]

    def output(self) -> str:
        return self.stdout.read_text() + self.stderr.read_text()


@dataclass
class Answer:
    status: int
    headers: Message  # names in any case: granian sends them lowercase
    body: bytes


def clean_environment(**env: str) -> dict[str, str]:
    """This process's environment without Django or database choices, plus env."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DEBUG", "SENTRY_", "LOG_", "METRICS_"))
        and key not in {"DATABASE_URL", "IS_PRODUCTION"}
    }
    return {**kept, **env}


SERVE = """
from config.serve import load_application, web_server

server = web_server()
load_application()
{before_serving}
server.serve(target_loader=load_application)
"""


@contextmanager
def web_server(
    tmp_path: Path, *, env: dict[str, str] | None = None, before_serving: str = ""
) -> Iterator[Served]:
    """Runs one worker as `python -m config.serve` does; stops it after.

    `before_serving` is Python run in the main process once the project is
    loaded: the worker forks from it, so what it patches holds there too.
    """
    port = free_port()
    served = Served(
        url=f"http://127.0.0.1:{port}",
        stdout=tmp_path / "web.stdout",
        stderr=tmp_path / "web.stderr",
    )
    settings_env = {
        "PORT": str(port),
        "WEB_BIND_ADDRESS": "127.0.0.1",
        "WEB_CONCURRENCY": "1",
        **(env or {}),
    }
    with served.stdout.open("w") as out, served.stderr.open("w") as err:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", SERVE.format(before_serving=before_serving)],
            cwd=Path(settings.BASE_DIR),
            env=clean_environment(**settings_env),
            stdout=out,
            stderr=err,
        )
        served.pid = process.pid
        try:
            _wait_until_listening(port, process, served)
            yield served
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _wait_until_listening(port: int, process: subprocess.Popen, served: Served) -> None:
    try:
        wait_for_port(port, process=process, timeout=STARTUP_SECONDS)
    except AssertionError as exc:
        raise RuntimeError(f"web server: {exc}:\n{served.output()}") from None


def fetch(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Answer:
    request = urllib.request.Request(
        url, data=body, headers=headers or {}, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())
