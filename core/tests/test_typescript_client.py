"""The typed TypeScript client (clients/typescript) against the server it describes.

`make client` writes the schema with `manage.py spectacular`; the first test holds
that file equal to what `/api/v1/schema/` serves. The second builds the client as a
frontend would (a copy of the folder, its types generated from the schema, compiled
with tsc --strict) and runs the example with node against a live server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from http import HTTPStatus
from pathlib import Path

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


def _run(*args: str, cwd: Path, timeout: int = 300) -> None:
    result = subprocess.run(  # noqa: S603
        args, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"


@pytest.fixture
def node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        message = "the TypeScript client needs Node.js 20+ and npm, not installed here"
        if services_required():
            pytest.fail(f"{message} (CI must run it)", pytrace=False)
        pytest.skip(message)
    if not (CLIENT_DIR / "node_modules" / ".package-lock.json").exists():
        _run(npm, "ci", "--prefer-offline", "--no-audit", "--no-fund", cwd=CLIENT_DIR)
    return node


@pytest.fixture
def compiled_example(node, tmp_path) -> Path:
    """example.js, built in a copy of clients/typescript from the current schema."""
    for name in SOURCES:
        shutil.copy(CLIENT_DIR / name, tmp_path / name)
    (tmp_path / "node_modules").symlink_to(CLIENT_DIR / "node_modules")
    _write_schema(tmp_path / "openapi.json")
    bin_dir = tmp_path / "node_modules" / ".bin"
    _run(
        node,
        str(bin_dir / "openapi-typescript"),
        "openapi.json",
        "--output",
        "schema.d.ts",
        cwd=tmp_path,
    )
    _run(
        node,
        str(bin_dir / "tsc"),
        "--project",
        "tsconfig.json",
        "--strict",
        "--noEmit",
        "false",
        "--outDir",
        "out",
        cwd=tmp_path,
    )
    return tmp_path / "out" / "example.js"


def test_the_schema_make_client_writes_is_the_one_the_server_serves(client, tmp_path):
    written = _write_schema(tmp_path / "openapi.json")

    response = client.get("/api/v1/schema/?format=json")

    assert response.status_code == HTTPStatus.OK
    assert json.loads(written.read_text()) == json.loads(response.content)


@pytest.mark.django_db(transaction=True)
def test_the_compiled_example_signs_in_creates_lists_and_reads_an_error_code(
    node, compiled_example, live_server, user_factory, resource_factory
):
    user = user_factory(email="demo@example.com")
    resource_factory(owner=user, title="Quarterly report")
    resource_factory(owner=user_factory(), title="Somebody else's")

    result = subprocess.run(  # noqa: S603
        [node, str(compiled_example)],
        env={
            "PATH": os.environ["PATH"],
            "GATEHOUSE_URL": live_server.url,
            "GATEHOUSE_EMAIL": user.email,
            "GATEHOUSE_PASSWORD": DEFAULT_PASSWORD,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    created = Resource.objects.get(owner=user, title="Made by the TypeScript client")
    assert created.data == {"tags": ["example"]}
    assert result.stdout.splitlines() == [
        "wrong password: 401 invalid_credentials",
        "signed in as demo@example.com (approved)",
        f"created {created.pk}: Made by the TypeScript client",
        "listed 2 resources: Made by the TypeScript client, Quarterly report",
    ]
