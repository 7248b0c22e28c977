"""gunicorn serving the project in a child process on 127.0.0.1, for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from core.tests.served_app import free_port, wait_for_port

STARTUP_SECONDS = 30


@dataclass
class Served:
    url: str
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text() + self.stderr.read_text()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
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


@contextmanager
def gunicorn(
    tmp_path: Path, *, config: str, env: dict[str, str] | None = None
) -> Iterator[Served]:
    """Runs one sync worker with the given gunicorn config file text; stops it after."""
    port = free_port()
    config_file = tmp_path / "gunicorn_test.conf.py"
    config_file.write_text(config)
    served = Served(
        url=f"http://127.0.0.1:{port}",
        stdout=tmp_path / "gunicorn.stdout",
        stderr=tmp_path / "gunicorn.stderr",
    )
    with served.stdout.open("w") as out, served.stderr.open("w") as err:
        process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--config",
                str(config_file),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                # Its default socket path is per user: leave other gunicorns' alone.
                "--no-control-socket",
            ],
            cwd=Path(settings.BASE_DIR),
            env=clean_environment(**(env or {})),
            stdout=out,
            stderr=err,
        )
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
        raise RuntimeError(f"gunicorn: {exc}:\n{served.output()}") from None


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
            return Answer(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), error.read())
