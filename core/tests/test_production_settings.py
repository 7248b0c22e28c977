"""IS_PRODUCTION=true refuses unsafe configuration, naming every problem at once."""

import os
import secrets
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from dotenv import dotenv_values

GOOD = {
    "IS_PRODUCTION": "true",
    "SECRET_KEY": secrets.token_urlsafe(40),
    "JWT_SECRET_KEY": secrets.token_urlsafe(40),
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/gatehouse",
    "ALLOWED_HOSTS": "gatehouse.example.com",
    "BASE_URL": "https://gatehouse.example.com",
    "USE_CLOUD_STORAGE": "true",
    "CLOUD_STORAGE_PROVIDER": "s3",
    "CLOUD_STORAGE_BUCKET": "gatehouse-media",
    "CLOUD_STORAGE_ACCESS_KEY": "AKIAEXAMPLE",
    "CLOUD_STORAGE_SECRET_KEY": "example-secret-key",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEBUG"))
    }
    clean.pop("DATABASE_URL", None)
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=Path(settings.BASE_DIR),
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "django-insecure-gatehouse-development-only"}, "SECRET_KEY"),
        ({"JWT_SECRET_KEY": ""}, "JWT_SECRET_KEY"),
        ({"JWT_SECRET_KEY": "changeme"}, "JWT_SECRET_KEY"),
        ({"DATABASE_URL": "sqlite:///db.sqlite3"}, "DATABASE_URL"),
        ({"USE_CLOUD_STORAGE": "false"}, "USE_CLOUD_STORAGE"),
        (
            {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"},
            "EMAIL_BACKEND",
        ),
    ],
    ids=[
        "no-secret",
        "dev-secret",
        "no-jwt-secret",
        "weak-jwt-secret",
        "sqlite",
        "local-media",
        "emails-to-the-log",
    ],
)
def test_production_refuses_to_start_with_one_clear_line(override, named):
    result = manage("check", **{**GOOD, **override})

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "refuses to start" in lines[0]
    assert named in lines[0]


def test_production_allows_sqlite_when_asked_explicitly():
    result = manage(
        "check",
        **{
            **GOOD,
            "DATABASE_URL": "sqlite:///db.sqlite3",
            "ALLOW_SQLITE_IN_PRODUCTION": "true",
        },
    )

    assert result.returncode == 0, result.stderr


def test_production_settings_pass_check_deploy_without_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **GOOD)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_original_templates_storage_key_names_pass_check_deploy():
    env = {
        name: value
        for name, value in GOOD.items()
        if name not in {"CLOUD_STORAGE_ACCESS_KEY", "CLOUD_STORAGE_SECRET_KEY"}
    }

    result = manage(
        "check",
        "--deploy",
        **env,
        CLOUD_STORAGE_KEY="AKIAEXAMPLE",
        CLOUD_STORAGE_SECRET="example-secret-key",
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output.upper()
    assert "no issues" in result.stdout


def test_production_turns_debug_off_even_if_asked():
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DEBUG)",
        **{**GOOD, "DEBUG": "true"},
    )

    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr


def test_oauth_client_id_is_read_when_google_client_id_is_unset():
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.GOOGLE_CLIENT_IDS)",
        OAUTH_CLIENT_ID="web-id,ios-id",
    )

    assert result.stdout.strip().splitlines()[-1] == "['web-id', 'ios-id']", (
        result.stderr
    )


def test_oauth_client_secret_is_read_when_google_client_secret_is_unset():
    code = (
        "from django.conf import settings; "
        "print(settings.GOOGLE_CLIENT_SECRET, "
        "settings.SOCIALACCOUNT_PROVIDERS['google']['APPS'][0]['secret'])"
    )
    google = {"GOOGLE_CLIENT_ID": "web-id", "OAUTH_CLIENT_SECRET": "template-secret"}

    result = manage("shell", "-c", code, GOOGLE_CLIENT_SECRET="", **google)

    assert result.stdout.strip().splitlines()[-1] == (
        "template-secret template-secret"
    ), result.stderr


def test_a_dotenv_file_is_read_when_present(tmp_path):
    # settings read BASE_DIR/.env; run a copy of the project whose .env sets a value.
    project = tmp_path / "project"
    shutil.copytree(
        Path(settings.BASE_DIR),
        project,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "db.sqlite3*", "assets", "*.pyc"
        ),
    )
    (project / ".env").write_text("SIGNUP_MODE=closed\n")

    result = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; print(settings.SIGNUP_MODE)",
        ],
        cwd=project,
        env={k: v for k, v in os.environ.items() if k != "SIGNUP_MODE"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.stdout.strip().splitlines()[-1] == "closed", result.stderr


def test_serverless_postgres_settings_are_honoured():
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; d = settings.DATABASES['default'];"
        "print(d['CONN_MAX_AGE'], d['OPTIONS'].get('sslmode'), d['CONN_HEALTH_CHECKS'])",
        **{
            **GOOD,
            "DATABASE_URL": "postgres://app:pw@db.example.com:5432/app?sslmode=require",
            "DB_CONN_MAX_AGE": "0",
        },
    )

    assert result.stdout.strip().splitlines()[-1] == "0 require True", result.stderr


@pytest.mark.parametrize(
    ("env", "required"),
    [({**GOOD}, "True"), ({**GOOD, "MFA_REQUIRED_FOR_ADMINS": "false"}, "False")],
    ids=["production-default", "turned-off"],
)
def test_production_requires_mfa_of_admins_unless_turned_off(env, required):
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.MFA_REQUIRED_FOR_ADMINS)",
        **env,
    )

    assert result.stdout.strip().splitlines()[-1] == required, result.stderr


def test_every_problem_is_listed_in_one_run_one_per_line():
    broken = {
        "SECRET_KEY": "",
        "DATABASE_URL": "sqlite:///db.sqlite3",
        "CLOUD_STORAGE_BUCKET": "",
        "SIGNUP_MODE": "invite-only",
    }

    result = manage("check", "--deploy", **{**GOOD, **broken})

    assert result.returncode == 1
    header, *problems = result.stderr.strip().splitlines()
    assert header == "Gatehouse refuses to start with IS_PRODUCTION=true, 4 problems:"
    assert [line.split()[1] for line in problems] == [
        "CLOUD_STORAGE_BUCKET",
        "SECRET_KEY",
        "DATABASE_URL",
        "SIGNUP_MODE",
    ]
    assert all(line.startswith("- ") for line in problems)


def _readme_block(marker: str) -> str:
    """A block of the operators' guide (the README's "Configuration" moved there)."""
    readme = (Path(settings.BASE_DIR) / "docs" / "operators.md").read_text()
    after = readme.split(f"<!-- {marker}", 1)[1]
    return after.split("```sh\n", 1)[1].split("```", 1)[0]


def test_the_readme_minimal_production_env_passes_check_deploy(tmp_path):
    subprocess.run(  # noqa: S603
        ["/bin/bash", "-euc", _readme_block("production-env")],  # noqa: S607
        cwd=tmp_path,
        check=True,
        timeout=30,
    )
    env = {k: v or "" for k, v in dotenv_values(tmp_path / ".env").items()}

    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)

    assert env["IS_PRODUCTION"] == "true"
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600


def test_production_sends_emails_by_smtp_by_default():
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.EMAIL_BACKEND)",
        **GOOD,
    )

    assert result.stdout.strip().splitlines()[-1] == (
        "django.core.mail.backends.smtp.EmailBackend"
    )
