"""What `make run` and `make test` install: the runtime alone, or the test tools too.

Read from `make -n` (what make would run) against a virtualenv folder of the test's
own, so nothing is installed and the project's .venv is never touched.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _would_run(target: str, venv: Path) -> str:
    result = subprocess.run(  # noqa: S603
        ["make", "-n", target, f"VENV={venv}"],  # noqa: S607
        cwd=Path(settings.BASE_DIR),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout


def _installed_venv(tmp_path: Path, *stamps: str) -> Path:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    for stamp in stamps:  # newer than the requirements files: up to date
        (venv / stamp).touch()
    return venv


def test_make_run_on_a_fresh_clone_installs_only_the_runtime(tmp_path):
    commands = _would_run("run", tmp_path / "venv")

    assert "-r requirements.txt" in commands
    assert "requirements-dev.txt" not in commands


def test_make_test_on_a_fresh_clone_installs_the_test_tools(tmp_path):
    venv = tmp_path / "venv"

    commands = _would_run("test", venv)

    assert "-r requirements-dev.txt" in commands
    assert f"touch {venv}/.installed-runtime {venv}/.installed" in commands


def test_make_run_after_make_test_installs_nothing(tmp_path):
    venv = _installed_venv(tmp_path, ".installed-runtime", ".installed")

    commands = _would_run("run", venv)

    assert "pip install" not in commands
    assert "runserver" in commands


def test_make_test_after_make_run_adds_the_test_tools(tmp_path):
    venv = _installed_venv(tmp_path, ".installed-runtime")

    commands = _would_run("test", venv)

    assert "-r requirements-dev.txt" in commands
