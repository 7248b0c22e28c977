"""Under a path prefix (URL_PREFIX=/gatehouse) every URL the app emits carries it.

The end-to-end tests run what a laptop runs: the web server with URL_PREFIX behind Caddy
with deploy/proxy/Caddyfile, which strips the prefix, on loopback. Caddy comes from
`apt-get install caddy`; without it they skip locally and fail in CI.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.shortcuts import resolve_url
from django.test.utils import override_script_prefix

from config.env import env_url_prefix
from conftest import services_required
from core.tests.served_app import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    BASE_DIR,
    clean_env,
    database_copy,
    free_port,
    http_request,
    manage,
    multipart,
    stop,
    wait_for_port,
)
from resources.tests.files import png_bytes

PREFIX = "/gatehouse"
FRONTEND = "https://app.example.com"
TUNNEL_HOST = "abcd-203-0-113-7.ngrok-free.app"


# --- In process: the settings and the URL helpers ------------------------------------


@pytest.mark.parametrize(
    ("raw", "prefix"),
    [
        ("", ""),
        ("/gatehouse", "/gatehouse"),
        ("gatehouse/", "/gatehouse"),
        ("/a/b/", "/a/b"),
    ],
)
def test_url_prefix_is_read_as_a_path_without_trailing_slash(monkeypatch, raw, prefix):
    monkeypatch.setenv("URL_PREFIX", raw)

    assert env_url_prefix("URL_PREFIX") == prefix


@pytest.mark.parametrize("raw", ["/has space", "https://example.com/x", "/a/../b"])
def test_url_prefix_that_is_not_a_plain_path_fails_loudly(monkeypatch, raw):
    monkeypatch.setenv("URL_PREFIX", raw)

    with pytest.raises(ImproperlyConfigured, match="URL_PREFIX must be a path"):
        env_url_prefix("URL_PREFIX")


def test_url_prefix_sets_the_script_name_urls_cookies_and_openapi_servers(tmp_path):
    show = (
        "from django.conf import settings as s; import json; print(json.dumps(["
        "s.FORCE_SCRIPT_NAME, s.STATIC_URL, s.MEDIA_URL, s.SESSION_COOKIE_PATH, "
        "s.CSRF_COOKIE_PATH, s.SPECTACULAR_SETTINGS['SERVERS']]))"
    )
    env = clean_env(tmp_path / "unused.sqlite3", URL_PREFIX="gatehouse/")

    result = manage("shell", "--no-imports", "-c", show, env=env)

    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        PREFIX,
        f"{PREFIX}/static/",
        f"{PREFIX}/assets/",
        f"{PREFIX}/",
        f"{PREFIX}/",
        [{"url": PREFIX}],
    ]


def test_without_url_prefix_nothing_changes():
    assert settings.FORCE_SCRIPT_NAME is None
    assert settings.STATIC_URL == "/static/"
    assert settings.MEDIA_URL == "/assets/"


def test_login_urls_resolve_under_the_prefix(under_prefix):
    assert resolve_url(settings.LOGIN_REDIRECT_URL) == f"{PREFIX}/admin/"
    assert resolve_url(settings.LOGIN_URL) == f"{PREFIX}/accounts/login/"


@pytest.fixture
def under_prefix(settings):
    """As behind the proxy: the client sends path_info (prefix stripped), Django gets
    SCRIPT_NAME from FORCE_SCRIPT_NAME, and reverse() reads the thread's prefix."""
    settings.FORCE_SCRIPT_NAME = PREFIX
    with override_script_prefix(f"{PREFIX}/"):
        yield


def test_pagination_next_link_carries_the_prefix_in_process(
    under_prefix, auth_client, approved_user, resource_factory
):
    client = auth_client(approved_user)
    resource_factory(owner=approved_user)
    resource_factory(owner=approved_user)

    body = client.get("/api/v1/resources/", {"page_size": 1}).json()

    assert body["next"].startswith(f"http://testserver{PREFIX}/api/v1/resources/?")


def test_share_link_carries_the_prefix_in_process(
    under_prefix, auth_client, approved_user, resource_factory
):
    client = auth_client(approved_user)
    resource = resource_factory(owner=approved_user)

    body = client.post(f"/api/v1/resources/{resource.pk}/share/").json()

    assert body["share_url"] == (
        f"http://testserver{PREFIX}/api/v1/public/resources/{body['token']}/"
    )


# --- Through a real proxy: Caddy with deploy/proxy/Caddyfile in front of the web server ---


class _OtherProject(BaseHTTPRequestHandler):
    """Stands for a second project behind the proxy; it echoes what reached it."""

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        body = json.dumps(
            {"path": self.path, "proto": self.headers.get("X-Forwarded-Proto")}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def proxy(served_database_template, tmp_path_factory):
    if shutil.which("caddy") is None:
        reason = "caddy is not installed: apt-get install caddy (or brew install caddy)"
        if services_required():
            pytest.fail(reason)
        pytest.skip(reason)
    directory = tmp_path_factory.mktemp("proxied")
    app_port, proxy_port = free_port(), free_port()
    other = ThreadingHTTPServer(("127.0.0.1", 0), _OtherProject)
    threading.Thread(target=other.serve_forever, daemon=True).start()

    app_env = clean_env(
        database_copy(served_database_template, directory),
        URL_PREFIX=PREFIX,
        CORS_ORIGINS=FRONTEND,
        PORT=str(app_port),
        WEB_BIND_ADDRESS="127.0.0.1",
        WEB_CONCURRENCY="2",
    )
    proxy_env = {
        "PATH": clean_env(directory)["PATH"],
        "HOME": str(directory),
        "XDG_CONFIG_HOME": str(directory / "config"),
        "XDG_DATA_HOME": str(directory / "data"),
        # Its own admin port: Caddy 2.6 keeps localhost:2019 even with `admin off`,
        # and another Caddy (the other CI leg's) may hold it.
        "CADDY_ADMIN": f"127.0.0.1:{free_port()}",
        "PROXY_PORT": str(proxy_port),
        "GATEHOUSE_UPSTREAM": f"127.0.0.1:{app_port}",
        "OTHER_UPSTREAM": f"127.0.0.1:{other.server_address[1]}",
    }
    logs = (directory / "web.log").open("w"), (directory / "caddy.log").open("w")
    processes = []
    try:
        processes.append(
            subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "config.serve"],
                cwd=BASE_DIR,
                env=app_env,
                stdout=logs[0],
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        caddyfile = BASE_DIR / "deploy" / "proxy" / "Caddyfile"
        processes.append(
            subprocess.Popen(  # noqa: S603
                ["caddy", "run", "--config", str(caddyfile), "--adapter", "caddyfile"],  # noqa: S607
                env=proxy_env,
                stdout=logs[1],
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        wait_for_port(app_port, process=processes[0])
        wait_for_port(proxy_port, process=processes[1])
        yield SimpleNamespace(port=proxy_port, origin=f"http://127.0.0.1:{proxy_port}")
    finally:
        for process in processes:
            stop(process, group=True)
        other.shutdown()
        for log in logs:
            log.close()


@pytest.fixture(scope="module")
def access(proxy) -> str:
    reply = http_request(
        proxy.port,
        "POST",
        f"{PREFIX}/api/v1/auth/login/",
        json_body={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
    )
    assert reply.status == HTTPStatus.OK, reply.body
    return reply.json()["access"]


@pytest.fixture(scope="module")
def resource(proxy, access) -> dict:
    reply = http_request(
        proxy.port,
        "POST",
        f"{PREFIX}/api/v1/resources/",
        json_body={"title": "Behind the proxy"},
        bearer=access,
    )
    assert reply.status == HTTPStatus.CREATED, reply.body
    return reply.json()


def test_health_answers_under_the_prefix(proxy):
    reply = http_request(proxy.port, "GET", f"{PREFIX}/health")

    assert reply.status == HTTPStatus.OK, reply.body
    assert reply.json()["status"] == "ok"


def test_bare_prefix_redirects_to_the_prefix_with_a_slash(proxy):
    reply = http_request(proxy.port, "GET", PREFIX)

    assert reply.status == HTTPStatus.PERMANENT_REDIRECT
    assert reply.headers["Location"] == f"{PREFIX}/"


def test_other_project_gets_its_own_path_with_the_prefix_stripped(proxy):
    reply = http_request(proxy.port, "GET", "/other/hello?x=1")

    assert reply.status == HTTPStatus.OK
    assert reply.json()["path"] == "/hello?x=1"


def test_schema_servers_entry_carries_the_prefix(proxy):
    reply = http_request(proxy.port, "GET", f"{PREFIX}/api/v1/schema/?format=json")

    assert reply.status == HTTPStatus.OK
    assert reply.json()["servers"][0]["url"].endswith(PREFIX)


@pytest.mark.parametrize("page", ["docs", "redoc"])
def test_docs_pages_load_their_assets_and_schema_under_the_prefix(proxy, page):
    reply = http_request(proxy.port, "GET", f"{PREFIX}/{page}")

    assert reply.status == HTTPStatus.OK
    html = reply.text()
    assert f'"{PREFIX}/static/drf_spectacular_sidecar/' in html
    assert '"/static/' not in html
    assert f"{PREFIX}/api/v1/schema/" in html


def test_static_asset_is_served_under_the_prefix(proxy):
    html = http_request(proxy.port, "GET", f"{PREFIX}/docs").text()
    asset = re.search(rf'"({PREFIX}/static/[^"]+\.css)"', html)[1]

    reply = http_request(proxy.port, "GET", asset)

    assert reply.status == HTTPStatus.OK
    assert reply.headers["Content-Type"].startswith("text/css")


def test_admin_redirects_to_its_login_under_the_prefix(proxy):
    reply = http_request(proxy.port, "GET", f"{PREFIX}/admin/")

    assert reply.status == HTTPStatus.FOUND
    assert reply.headers["Location"] == (f"{PREFIX}/admin/login/?next={PREFIX}/admin/")


def test_allauth_sign_in_posts_to_and_redirects_under_the_prefix(proxy):
    page = http_request(proxy.port, "GET", f"{PREFIX}/accounts/login/")
    assert f'action="{PREFIX}/accounts/login/"' in page.text()
    cookie = page.headers["Set-Cookie"]
    assert f"Path={PREFIX}/" in cookie  # apart from other projects' cookies
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text())[1]

    reply = http_request(
        proxy.port,
        "POST",
        f"{PREFIX}/accounts/login/",
        body=f"login={ADMIN_EMAIL}&password={ADMIN_PASSWORD}&csrfmiddlewaretoken={token}".encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie.split(";")[0],
            "Origin": proxy.origin,
        },
    )

    assert reply.status == HTTPStatus.FOUND, reply.text()[:500]
    assert reply.headers["Location"] == f"{PREFIX}/admin/"


def test_pagination_next_link_carries_the_prefix(proxy, access, resource):
    http_request(
        proxy.port,
        "POST",
        f"{PREFIX}/api/v1/resources/",
        json_body={"title": "Another"},
        bearer=access,
    )

    reply = http_request(
        proxy.port, "GET", f"{PREFIX}/api/v1/resources/?page_size=1", bearer=access
    )

    assert reply.json()["next"].startswith(f"{proxy.origin}{PREFIX}/api/v1/resources/?")


def test_links_are_https_on_the_tunnel_host_when_ngrok_forwards(proxy, access):
    # What ngrok sends to the proxy: the public Host, and https in X-Forwarded-Proto.
    reply = http_request(
        proxy.port,
        "GET",
        f"{PREFIX}/api/v1/resources/?page_size=1",
        bearer=access,
        headers={"Host": TUNNEL_HOST, "X-Forwarded-Proto": "https"},
    )

    assert reply.json()["next"].startswith(
        f"https://{TUNNEL_HOST}{PREFIX}/api/v1/resources/?"
    )


def test_share_link_carries_the_prefix_and_opens(proxy, access, resource):
    shared = http_request(
        proxy.port,
        "POST",
        f"{PREFIX}/api/v1/resources/{resource['id']}/share/",
        bearer=access,
    ).json()

    assert shared["share_url"].startswith(
        f"{proxy.origin}{PREFIX}/api/v1/public/resources/"
    )
    opened = http_request(
        proxy.port, "GET", shared["share_url"].removeprefix(proxy.origin)
    )
    assert opened.status == HTTPStatus.OK
    assert opened.json()["title"] == resource["title"]


def test_uploaded_file_url_carries_the_prefix_and_is_served(proxy, access, resource):
    body, content_type = multipart("file", "pixel.png", png_bytes())

    uploaded = http_request(
        proxy.port,
        "POST",
        f"{PREFIX}/api/v1/resources/{resource['id']}/upload/",
        body=body,
        headers={"Content-Type": content_type},
        bearer=access,
    )

    assert uploaded.status == HTTPStatus.CREATED, uploaded.body
    url = uploaded.json()["url"]
    assert url.startswith(f"{proxy.origin}{PREFIX}/assets/")
    assert f"/resources/{resource['id']}/" in url
    fetched = http_request(proxy.port, "GET", url.removeprefix(proxy.origin))
    assert fetched.status == HTTPStatus.OK
    assert fetched.body == png_bytes()


def test_cors_preflight_through_the_proxy_is_answered_by_the_app(proxy):
    reply = http_request(
        proxy.port,
        "OPTIONS",
        f"{PREFIX}/api/v1/auth/login/",
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, ngrok-skip-browser-warning",
        },
    )

    assert reply.status == HTTPStatus.OK
    assert reply.headers["Access-Control-Allow-Origin"] == FRONTEND
    allowed = reply.headers["Access-Control-Allow-Headers"].lower()
    assert "ngrok-skip-browser-warning" in allowed
