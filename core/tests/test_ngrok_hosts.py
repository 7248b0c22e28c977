"""ngrok's free domains work in development with the default settings, untouched."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest

from core.tests.served_app import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    clean_env,
    database_copy,
    manage,
)

HOSTS = ["abcd-203-0-113-7.ngrok-free.app", "abcd-203-0-113-7.ngrok-free.dev"]

# Runs inside `manage.py shell` with nothing but the defaults: a health probe and an
# admin sign-in as they arrive through ngrok (plain http to the app, an https Origin).
_VISIT = """
import json
from django.test import Client
results = {}
for host in HOSTS:
    client = Client(enforce_csrf_checks=True, HTTP_HOST=host)
    health = client.get("/health")
    client.get("/admin/login/")
    form = {
        "username": EMAIL, "password": PASSWORD, "next": "/admin/",
        "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
    }
    login = client.post("/admin/login/", form, HTTP_ORIGIN=f"https://{host}")
    results[host] = {"health": health.status_code, "login": login.status_code}
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def visits(served_database_template, tmp_path_factory) -> dict:
    database = database_copy(served_database_template, tmp_path_factory.mktemp("ng"))
    script = (
        f"HOSTS = {HOSTS!r}\nEMAIL = {ADMIN_EMAIL!r}\nPASSWORD = {ADMIN_PASSWORD!r}\n"
        + _VISIT
    )

    result = manage("shell", "--no-imports", "-c", script, env=clean_env(database))

    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("host", HOSTS)
def test_ngrok_free_host_is_allowed_by_default(visits, host):
    assert visits[host]["health"] == HTTPStatus.OK


@pytest.mark.parametrize("host", HOSTS)
def test_ngrok_free_https_origin_passes_the_admin_csrf_check_by_default(visits, host):
    # 302: signed in and sent on; a refused origin would be 403.
    assert visits[host]["login"] == HTTPStatus.FOUND
