"""Cookie mode (JWT_REFRESH_COOKIE=true) behind the real proxy: the web server with
URL_PREFIX behind Caddy running deploy/proxy/Caddyfile, which strips the prefix.

A `requests` session is the browser: its cookie jar keeps what the answers set and
sends it back only where the cookie's Path and flags allow. Caddy comes from
`apt-get install caddy`; without it these skip locally and fail in CI.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from http import HTTPStatus
from http.cookiejar import Cookie, DefaultCookiePolicy
from http.cookies import Morsel, SimpleCookie
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import requests

from accounts.refresh_cookie import REFRESH_COOKIE_NAME
from conftest import services_required
from core.tests.served_app import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    BASE_DIR,
    clean_env,
    database_copy,
    free_port,
    stop,
    wait_for_port,
)
from core.tests.web_process import web_server

PREFIX = "/gatehouse"  # the path deploy/proxy/Caddyfile gives this app
AUTH = f"{PREFIX}/api/v1/auth"
FRONTEND = "https://app.example.com"
STRANGER = "https://evil.example.net"
TIMEOUT = 15


_secure_only = DefaultCookiePolicy.return_ok_secure


def _loopback_is_secure(self, cookie: Cookie, request) -> bool:
    if urlsplit(request.get_full_url()).hostname == "127.0.0.1":
        return True
    return _secure_only(self, cookie, request)


@contextlib.contextmanager
def caddy(directory, *, upstream_port: int) -> Iterator[int]:
    """deploy/proxy/Caddyfile on a free port, this app behind its /gatehouse/."""
    proxy_port = free_port()
    env = {
        "PATH": clean_env(directory)["PATH"],
        "HOME": str(directory),
        "XDG_CONFIG_HOME": str(directory / "config"),
        "XDG_DATA_HOME": str(directory / "data"),
        # Its own admin port: another Caddy may hold the default localhost:2019.
        "CADDY_ADMIN": f"127.0.0.1:{free_port()}",
        "PROXY_PORT": str(proxy_port),
        "GATEHOUSE_UPSTREAM": f"127.0.0.1:{upstream_port}",
        "OTHER_UPSTREAM": f"127.0.0.1:{free_port()}",
    }
    caddyfile = BASE_DIR / "deploy" / "proxy" / "Caddyfile"
    with (directory / "caddy.log").open("w") as log:
        process = subprocess.Popen(  # noqa: S603
            ["caddy", "run", "--config", str(caddyfile), "--adapter", "caddyfile"],  # noqa: S607
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for_port(proxy_port, process=process)
            yield proxy_port
        finally:
            stop(process, group=True)


@pytest.fixture(scope="module")
def proxy(served_database_template, tmp_path_factory) -> Iterator[SimpleNamespace]:
    if shutil.which("caddy") is None:
        reason = "caddy is not installed: apt-get install caddy (or brew install caddy)"
        if services_required():
            pytest.fail(reason)
        pytest.skip(reason)
    directory = tmp_path_factory.mktemp("cookie-proxied")
    env = clean_env(
        database_copy(served_database_template, directory / "db"),
        URL_PREFIX=PREFIX,
        JWT_REFRESH_COOKIE="true",
        CORS_ORIGINS=FRONTEND,
    )
    with web_server(directory, env=env) as app:
        app_port = int(app.url.rsplit(":", 1)[1])
        with caddy(directory, upstream_port=app_port) as port:
            yield SimpleNamespace(url=f"http://127.0.0.1:{port}")


@pytest.fixture
def browser(proxy, monkeypatch) -> Iterator[requests.Session]:
    """A fresh browser: its jar keeps cookies, and sends Secure ones to loopback.

    Browsers count http://127.0.0.1 as a secure context; Python's jars do not, and
    requests copies its session's jar (and so any policy set on it) per request.
    """
    monkeypatch.setattr(DefaultCookiePolicy, "return_ok_secure", _loopback_is_secure)
    with requests.Session() as session:
        yield session


@pytest.fixture
def sign_in(proxy, browser) -> requests.Response:
    """The browser signs in through the proxy; the answer to that."""
    response = browser.post(
        f"{proxy.url}{AUTH}/login/",
        json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        timeout=TIMEOUT,
    )
    assert response.status_code == HTTPStatus.OK, response.text
    return response


def refresh_cookie_of(response: requests.Response) -> Morsel:
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(response.headers["Set-Cookie"])
    assert REFRESH_COOKIE_NAME in cookie, response.headers["Set-Cookie"]
    return cookie[REFRESH_COOKIE_NAME]


def cors_headers(response: requests.Response) -> set[str]:
    return {k.lower() for k in response.headers if k.lower().startswith("access-")}


def preflight(proxy, origin: str) -> requests.Response:
    return requests.options(
        f"{proxy.url}{AUTH}/refresh/",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-requested-with",
        },
        timeout=TIMEOUT,
    )


def refresh(proxy, browser, **headers: str) -> requests.Response:
    return browser.post(f"{proxy.url}{AUTH}/refresh/", headers=headers, timeout=TIMEOUT)


def test_sign_in_sets_the_cookie_on_the_prefixed_auth_path(sign_in):
    morsel = refresh_cookie_of(sign_in)

    assert morsel.value
    assert morsel["path"] == f"{AUTH}/"
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["secure"] is True
    assert sign_in.json()["access"]
    assert "refresh" not in sign_in.json()


def test_refresh_with_the_header_rotates_the_cookie(proxy, browser, sign_in):
    before = browser.cookies[REFRESH_COOKIE_NAME]

    response = refresh(proxy, browser, **{"X-Requested-With": "XMLHttpRequest"})

    assert response.status_code == HTTPStatus.OK, response.text
    assert response.json()["access"]
    assert "refresh" not in response.json()
    rotated = refresh_cookie_of(response)
    assert rotated["path"] == f"{AUTH}/"
    assert rotated.value not in {"", before}
    assert browser.cookies[REFRESH_COOKIE_NAME] == rotated.value


def test_refresh_without_the_header_is_refused(proxy, browser, sign_in):
    response = refresh(proxy, browser)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "csrf_failed"
    assert "Set-Cookie" not in response.headers


def test_logout_clears_the_cookie_on_the_same_prefixed_path(proxy, browser, sign_in):
    response = browser.post(
        f"{proxy.url}{AUTH}/logout/",
        headers={"X-Requested-With": "XMLHttpRequest"},
        timeout=TIMEOUT,
    )

    assert response.status_code == HTTPStatus.NO_CONTENT, response.text
    cleared = refresh_cookie_of(response)
    assert (cleared.value, cleared["max-age"]) == ("", "0")
    assert cleared["path"] == f"{AUTH}/"
    assert REFRESH_COOKIE_NAME not in browser.cookies


def test_preflight_from_the_listed_origin_allows_credentials(proxy):
    response = preflight(proxy, FRONTEND)

    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "x-requested-with" in response.headers["Access-Control-Allow-Headers"]


def test_preflight_from_another_origin_gets_no_cors_headers(proxy):
    response = preflight(proxy, STRANGER)

    assert cors_headers(response) == set()


def test_a_refresh_from_the_listed_origin_answers_with_credentials(
    proxy, browser, sign_in
):
    response = refresh(
        proxy, browser, **{"X-Requested-With": "XMLHttpRequest", "Origin": FRONTEND}
    )

    assert response.status_code == HTTPStatus.OK, response.text
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


def test_a_refresh_from_another_origin_gets_no_cors_headers(proxy, browser, sign_in):
    response = refresh(
        proxy, browser, **{"X-Requested-With": "XMLHttpRequest", "Origin": STRANGER}
    )

    assert cors_headers(response) == set()
