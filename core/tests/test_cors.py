"""Browsers on the origins in CORS_ORIGINS may call the API; others may not."""

from __future__ import annotations

import os
import subprocess
import sys
from http import HTTPStatus
from pathlib import Path

import pytest
from django.conf import settings as django_settings

FRONTEND = "https://app.example.com"
STRANGER = "https://evil.example.net"
REQUESTED_HEADERS = ["authorization", "content-type", "ngrok-skip-browser-warning"]


@pytest.fixture(autouse=True)
def _frontend_allowed(settings):
    settings.CORS_ALLOWED_ORIGINS = [FRONTEND]


def _preflight(client, origin: str):
    return client.options(
        "/api/v1/auth/login/",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": ", ".join(REQUESTED_HEADERS),
        },
    )


def _listed(header_value: str) -> set[str]:
    return {item.strip().lower() for item in header_value.split(",")}


def test_preflight_from_allowed_origin_is_allowed(client):
    response = _preflight(client, FRONTEND)

    assert response.status_code == HTTPStatus.OK
    assert response["Access-Control-Allow-Origin"] == FRONTEND


def test_preflight_from_allowed_origin_allows_the_requested_headers(client):
    response = _preflight(client, FRONTEND)

    allowed = _listed(response["Access-Control-Allow-Headers"])
    assert set(REQUESTED_HEADERS) <= allowed


def test_preflight_asking_for_x_request_id_is_allowed(client):
    response = client.options(
        "/api/v1/auth/login/",
        headers={
            "origin": FRONTEND,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type, x-request-id",
        },
    )

    assert response.status_code == HTTPStatus.OK
    assert "x-request-id" in _listed(response["Access-Control-Allow-Headers"])


@pytest.mark.django_db
def test_x_request_id_is_exposed_to_the_frontend(client):
    response = client.get("/api/v1/health/", headers={"origin": FRONTEND})

    assert "x-request-id" in _listed(response["Access-Control-Expose-Headers"])


def test_preflight_from_allowed_origin_allows_post(client):
    response = _preflight(client, FRONTEND)

    assert "post" in _listed(response["Access-Control-Allow-Methods"])


def test_preflight_from_disallowed_origin_gets_no_allow_origin(client):
    response = _preflight(client, STRANGER)

    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.django_db
def test_request_from_allowed_origin_carries_allow_origin(client):
    response = client.get("/api/v1/health/", headers={"origin": FRONTEND})

    assert response.status_code == HTTPStatus.OK
    assert response["Access-Control-Allow-Origin"] == FRONTEND


@pytest.mark.django_db
def test_request_from_disallowed_origin_carries_no_allow_origin(client):
    response = client.get("/api/v1/health/", headers={"origin": STRANGER})

    assert response.status_code == HTTPStatus.OK
    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.django_db
def test_etag_and_retry_after_are_exposed_to_the_frontend(client):
    response = client.get("/api/v1/health/", headers={"origin": FRONTEND})

    exposed = _listed(response["Access-Control-Expose-Headers"])
    assert {"etag", "retry-after"} <= exposed


def test_cors_origins_environment_variable_sets_the_allowed_origins():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["CORS_ORIGINS"] = f"{FRONTEND}, http://localhost:5173"

    result = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            "from django.conf import settings; print(settings.CORS_ALLOWED_ORIGINS)",
        ],
        cwd=Path(django_settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str([FRONTEND, "http://localhost:5173"])
