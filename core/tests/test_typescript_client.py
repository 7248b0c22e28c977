"""The typed TypeScript client (clients/typescript) against the server it describes.

`make client` writes the schema with `manage.py spectacular`; the first test holds
that file equal to what `/api/v1/schema/` serves. The second builds the client as a
frontend would (a copy of the folder, its types generated from the schema) and runs
`npm run example` (tsc --strict to JS, then node) against a live server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from http import HTTPStatus
from pathlib import Path
from typing import NoReturn

import pytest
from django.conf import settings
from django.core.management import call_command

from conftest import DEFAULT_PASSWORD, services_required
from resources.models import Resource

CLIENT_DIR = Path(settings.BASE_DIR) / "clients" / "typescript"
SOURCES = ("package.json", "tsconfig.json", "client.ts", "example.ts")


def _write_schema(path: Path) -> Path:
    call_command(
        "spectacular", "--format", "openapi-json", "--validate", "--file", str(path)
    )
    return path


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(  # noqa: S603
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result.stdout


def _unavailable(reason: str) -> NoReturn:
    message = f"the TypeScript client cannot be built here: {reason}"
    if services_required():
        pytest.fail(f"{message} (CI must build it)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def npm() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        _unavailable("Node.js 20+ and npm are not installed")
    if not (CLIENT_DIR / "node_modules" / ".package-lock.json").exists():
        # `make client` installs them; a bare pytest run does it here.
        installed = subprocess.run(  # noqa: S603
            [npm, "ci", "--prefer-offline", "--no-audit", "--no-fund"],
            cwd=CLIENT_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if installed.returncode != 0:
            _unavailable(f"npm ci failed: {installed.stderr[-500:]}")
    return npm


@pytest.fixture
def client_copy(npm, tmp_path) -> Path:
    """clients/typescript copied as a frontend would, its types from the current schema."""
    for name in SOURCES:
        shutil.copy(CLIENT_DIR / name, tmp_path / name)
    (tmp_path / "node_modules").symlink_to(CLIENT_DIR / "node_modules")
    _write_schema(tmp_path / "openapi.json")
    _run(npm, "run", "--silent", "generate", cwd=tmp_path)
    return tmp_path


def test_the_schema_make_client_writes_is_the_one_the_server_serves(client, tmp_path):
    written = _write_schema(tmp_path / "openapi.json")

    response = client.get("/api/v1/schema/?format=json")

    assert response.status_code == HTTPStatus.OK
    assert json.loads(written.read_text()) == json.loads(response.content)


@pytest.mark.django_db(transaction=True)
def test_the_compiled_example_signs_in_creates_lists_and_reads_an_error_code(
    npm, client_copy, live_server, user_factory, resource_factory
):
    user = user_factory(email="demo@example.com")
    resource_factory(owner=user, title="Quarterly report")
    resource_factory(owner=user_factory(), title="Somebody else's")

    output = _run(
        npm,
        "run",
        "--silent",
        "example",
        cwd=client_copy,
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(client_copy),
            "GATEHOUSE_URL": live_server.url,
            "GATEHOUSE_EMAIL": user.email,
            "GATEHOUSE_PASSWORD": DEFAULT_PASSWORD,
        },
    )

    created = Resource.objects.get(owner=user, title="Made by the TypeScript client")
    assert created.data == {"tags": ["example"]}
    assert output.splitlines() == [
        "wrong password: 401 invalid_credentials",
        "signed in as demo@example.com (approved)",
        f"created {created.pk}: Made by the TypeScript client",
        "resources: 2 (Made by the TypeScript client, Quarterly report)",
    ]
