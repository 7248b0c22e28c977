"""A production rehearsal: what Render does, on this machine.

A clean environment with IS_PRODUCTION=true, a fresh PostgreSQL database and an
S3-compatible server (moto) as cloud storage; the build script, the Procfile's
release command, then the web server (granian) started from the Procfile's web line.
"""

from __future__ import annotations

import http.client
import json
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path

import boto3
import pytest
from django.conf import settings

from core.tests.legs import sqlite_leg_only
from core.tests.production_app import procfile_line
from core.tests.served_app import free_port, multipart
from core.tests.storage_servers import S3_KEY, S3_REGION, S3_SECRET
from resources.tests.files import png_bytes

pytest_plugins = ["core.tests.storage_servers"]

ROOT = Path(settings.BASE_DIR)
HOST = "gatehouse.test"
ADMIN_EMAIL, ADMIN_PASSWORD = "ops@gatehouse.test", "a-long-rehearsal-passphrase"


@pytest.fixture
def production_env(fresh_postgres, s3_env, moto_endpoint) -> dict[str, str]:
    """Only what a Render service would have: no developer variables leak in."""
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(Path.home()),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "IS_PRODUCTION": "true",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": fresh_postgres,
        "ALLOWED_HOSTS": HOST,
        "BASE_URL": f"https://{HOST}",
        "NUM_PROXIES": "1",
        "WEB_CONCURRENCY": "2",
        "PORT": str(free_port()),
        "USE_CLOUD_STORAGE": "true",
        "CLOUD_STORAGE_PROVIDER": "s3",
        "CLOUD_STORAGE_BUCKET": s3_env,
        "CLOUD_STORAGE_ACCESS_KEY": S3_KEY,
        "CLOUD_STORAGE_SECRET_KEY": S3_SECRET,
        "CLOUD_STORAGE_ENDPOINT_URL": moto_endpoint,
        "CLOUD_STORAGE_REGION": S3_REGION,
        "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD,
    }


def run(
    command: str, env: dict[str, str], timeout: int = 300
) -> subprocess.CompletedProcess:
    result = subprocess.run(  # noqa: S603
        ["bash", "-c", command],  # noqa: S607
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


class Site:
    """HTTP to the web server under test, as Render's proxy would forward it."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        all_headers = {"Host": HOST, "X-Forwarded-Proto": "https", **(headers or {})}
        if isinstance(body, dict):
            body = json.dumps(body)
            all_headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        return response, response.read()


@pytest.fixture
def deployed(production_env) -> Iterator[tuple[Site, subprocess.Popen, dict]]:
    env = production_env
    run("./bin/build.sh", env)
    run(procfile_line("release"), env)
    run(f"python manage.py createsuperuser --no-input --email {ADMIN_EMAIL}", env)
    web = subprocess.Popen(  # noqa: S603
        ["bash", "-c", f"exec {procfile_line('web')}"],  # noqa: S607
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert web.stdout is not None  # stdout=PIPE
    site = Site(int(env["PORT"]))
    deadline = time.monotonic() + 30
    while True:
        try:
            if site.request("GET", "/health")[0].status == HTTPStatus.OK:
                break
        except OSError:
            pass
        assert web.poll() is None, web.stdout.read().decode()
        assert time.monotonic() < deadline, "the web server did not come up"
        time.sleep(0.2)
    try:
        yield site, web, env
    finally:
        if web.poll() is None:
            web.kill()
        web.wait(timeout=30)


@sqlite_leg_only
def test_a_render_style_deploy_serves_the_app_safely(deployed):
    site, web, env = deployed

    # /health, and the deploy check, in the production environment
    health, body = site.request("GET", "/health")
    assert health.status == HTTPStatus.OK
    assert json.loads(body)["database"] == "ok"
    assert json.loads(body)["storage"] == "ok"
    check = run("python manage.py check --deploy --fail-level WARNING", env)
    assert "WARNING" not in check.stdout + check.stderr

    # static files: hashed names, compressed, cached for ever
    manifest = json.loads((ROOT / "staticfiles" / "staticfiles.json").read_text())
    hashed = manifest["paths"]["admin/css/base.css"]
    assert hashed != "admin/css/base.css"
    static, _ = site.request(
        "GET", f"/static/{hashed}", headers={"Accept-Encoding": "gzip"}
    )
    assert static.status == HTTPStatus.OK
    assert static.getheader("Content-Encoding") == "gzip"
    assert "immutable" in static.getheader("Cache-Control")
    assert "max-age=315360000" in static.getheader("Cache-Control")

    # errors under /api/ are JSON, with no traceback or debug page
    for method, path, payload in [
        ("GET", "/api/v1/no-such-endpoint/", None),
        ("DELETE", "/api/v1/health/", None),
        ("POST", "/api/v1/auth/login/", "{not json"),
    ]:
        response, raw = site.request(
            method, path, payload, {"Content-Type": "application/json"}
        )
        assert response.getheader("Content-Type").startswith("application/json")
        assert "code" in json.loads(raw)
        assert b"Traceback" not in raw
        assert b"DEBUG" not in raw

    # an upload lands in the cloud storage
    login, raw = site.request(
        "POST",
        "/api/v1/auth/login/",
        {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
    )
    assert login.status == HTTPStatus.OK, raw
    bearer = {"Authorization": f"Bearer {json.loads(raw)['access']}"}
    created, raw = site.request(
        "POST", "/api/v1/resources/", {"title": "Rehearsal"}, bearer
    )
    resource_id = json.loads(raw)["id"]
    body, content_type = multipart("file", "photo.png", png_bytes())
    uploaded, raw = site.request(
        "POST",
        f"/api/v1/resources/{resource_id}/upload/",
        body,
        {**bearer, "Content-Type": content_type},
    )
    assert uploaded.status == HTTPStatus.CREATED, raw
    url = json.loads(raw)["url"]
    assert url.startswith(env["CLOUD_STORAGE_ENDPOINT_URL"])
    s3 = boto3.client(
        "s3",
        endpoint_url=env["CLOUD_STORAGE_ENDPOINT_URL"],
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
        region_name=S3_REGION,
    )
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=env["CLOUD_STORAGE_BUCKET"])["Contents"]
    ]
    # STORAGE_PREFIX defaults to a slug of BASE_URL's host.
    assert any(
        key.startswith(f"gatehouse-test/resources/{resource_id}/") for key in keys
    )

    # SIGTERM lets an in-flight request finish before the web server exits
    payload, content_type = multipart("file", "photo.png", png_bytes(16, 16))
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=30)
    conn.putrequest("POST", f"/api/v1/resources/{resource_id}/upload/", skip_host=True)
    for name, value in {
        "Host": HOST,
        "X-Forwarded-Proto": "https",
        "Content-Type": content_type,
        "Content-Length": str(len(payload)),
        **bearer,
    }.items():
        conn.putheader(name, value)
    conn.endheaders()
    conn.send(payload[:100])
    time.sleep(0.5)  # the worker is now reading this request

    web.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    conn.send(payload[100:])
    in_flight = conn.getresponse()

    assert in_flight.status == HTTPStatus.CREATED, in_flight.read()
    assert web.wait(timeout=40) == 0
