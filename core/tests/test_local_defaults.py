"""A fresh clone's defaults: DEBUG off unless asked for, random keys that `make run` keeps."""

from __future__ import annotations

import stat
import subprocess
from http import HTTPStatus

import pytest
from dotenv import dotenv_values

from core.tests.served_app import (
    clean_env,
    database_copy,
    free_port,
    http_request,
    manage,
    runserver,
)


def _settings_value(name: str, tmp_path, **env: str) -> str:
    script = f"from django.conf import settings; print(settings.{name})"
    result = manage(
        "shell", "--no-imports", "-c", script, env=clean_env(tmp_path / "db", **env)
    )
    return result.stdout.strip()


def test_debug_is_off_when_unset(tmp_path):
    assert _settings_value("DEBUG", tmp_path) == "False"


def test_debug_is_on_when_asked_for(tmp_path):
    assert _settings_value("DEBUG", tmp_path, DEBUG="true") == "True"


@pytest.fixture(scope="module")
def plain_server(served_database_template, tmp_path_factory):
    """runserver as a fresh clone starts it: no DEBUG, no .env, no collectstatic."""
    database = database_copy(served_database_template, tmp_path_factory.mktemp("plain"))
    port = free_port()
    with runserver(port, clean_env(database)):
        yield port


def test_with_debug_off_the_admin_still_gets_its_css(plain_server):
    reply = http_request(plain_server, "GET", "/static/admin/css/base.css")

    assert reply.status == HTTPStatus.OK
    assert reply.headers["Content-Type"].startswith("text/css")


def test_with_debug_off_an_unknown_page_is_not_the_technical_404(plain_server):
    reply = http_request(plain_server, "GET", "/no-such-page")

    assert reply.status == HTTPStatus.NOT_FOUND
    assert "URLconf" not in reply.text()


def _dev_secrets(env_file, tmp_path) -> subprocess.CompletedProcess:
    return manage(
        "dev_secrets", "--env-file", str(env_file), env=clean_env(tmp_path / "db")
    )


def _values(env_file) -> dict[str, str]:
    lines = env_file.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def test_dev_secrets_writes_random_keys_once_into_a_private_file(tmp_path):
    env_file = tmp_path / ".env"

    first = _dev_secrets(env_file, tmp_path)
    written = _values(env_file)
    second = _dev_secrets(env_file, tmp_path)

    assert "SECRET_KEY and JWT_SECRET_KEY" in first.stdout
    assert second.stdout == ""
    assert _values(env_file) == written
    assert len(written["SECRET_KEY"]) >= 50
    assert len(written["JWT_SECRET_KEY"]) >= 50
    assert written["SECRET_KEY"] != written["JWT_SECRET_KEY"]
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


def test_dev_secrets_keeps_what_the_file_has_and_adds_what_it_lacks(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=true\nSECRET_KEY=mine-and-kept")
    env_file.chmod(0o640)

    result = _dev_secrets(env_file, tmp_path)

    values = _values(env_file)
    assert "JWT_SECRET_KEY" in result.stdout
    assert values["DEBUG"] == "true"
    assert values["SECRET_KEY"] == "mine-and-kept"
    assert len(values["JWT_SECRET_KEY"]) >= 50
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o640


def test_keys_written_by_dev_secrets_read_back_unchanged_through_dotenv(tmp_path):
    env_file = tmp_path / ".env"

    _dev_secrets(env_file, tmp_path)

    loaded = dotenv_values(env_file)  # what config/settings.py's load_dotenv reads
    assert loaded == _values(env_file)


# --- BASE_URL follows the port a local server is started on ---------------------


def test_with_debug_base_url_follows_the_port(tmp_path):
    base_url = _settings_value("BASE_URL", tmp_path, DEBUG="true", PORT="9000")

    assert base_url == "http://localhost:9000"


def test_without_debug_a_port_does_not_move_base_url(tmp_path):
    # Hosts such as Render set PORT for the server behind their proxy.
    assert _settings_value("BASE_URL", tmp_path, PORT="10000") == (
        "http://localhost:8000"
    )


def test_a_base_url_that_is_set_wins_over_the_port(tmp_path):
    base_url = _settings_value(
        "BASE_URL",
        tmp_path,
        DEBUG="true",
        PORT="9000",
        BASE_URL="https://dev.example.com",
    )

    assert base_url == "https://dev.example.com"


def test_a_server_started_as_make_run_does_links_emails_to_its_own_port(
    served_database_template, tmp_path
):
    database = database_copy(served_database_template, tmp_path / "served")
    port = free_port()
    env = clean_env(database, DEBUG="true", PORT=str(port))
    seeded = manage("seed_demo", env=env)
    output = tmp_path / "server.out"
    with runserver(port, env, console=output):
        reply = http_request(
            port,
            "POST",
            "/api/v1/auth/register/",
            json_body={
                "email": "sam@example.com",
                "password": "a-long-passphrase",
                "full_name": "Sam",
            },
        )

    printed = output.read_text()
    assert f"Server: http://localhost:{port}/" in seeded.stdout
    assert reply.status == HTTPStatus.CREATED
    assert f"http://localhost:{port}/admin/accounts/accessrequest/" in printed
    assert "localhost:8000" not in printed
