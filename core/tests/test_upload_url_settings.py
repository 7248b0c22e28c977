"""UPLOAD_URL_ALLOWED_PORTS: the standard ports by default, a bad list fails at start-up."""

from __future__ import annotations

import subprocess
import sys

from core.tests.served_app import BASE_DIR, clean_env, manage

SCRIPT = "from django.conf import settings; print(settings.UPLOAD_URL_ALLOWED_PORTS)"


def test_only_the_standard_ports_are_allowed_by_default(tmp_path):
    result = manage(
        "shell", "--no-imports", "-c", SCRIPT, env=clean_env(tmp_path / "db")
    )

    assert result.stdout.strip() == "[80, 443]"


def test_listed_ports_are_read_as_numbers(tmp_path):
    env = clean_env(tmp_path / "db", UPLOAD_URL_ALLOWED_PORTS="443, 8443")

    result = manage("shell", "--no-imports", "-c", SCRIPT, env=env)

    assert result.stdout.strip() == "[443, 8443]"


def test_a_port_that_is_not_a_number_stops_the_start(tmp_path):
    env = clean_env(tmp_path / "db", UPLOAD_URL_ALLOWED_PORTS="80,http")

    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "UPLOAD_URL_ALLOWED_PORTS must list port numbers" in result.stderr
