"""`manage.py tunnel`, run for real against a stand-in ngrok agent (fake_ngrok.py)."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from http import HTTPStatus
from pathlib import Path

import pytest

from core.tests.served_app import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    BASE_DIR,
    clean_env,
    database_copy,
    free_port,
    http_request,
    port_is_closed,
    stop,
)
from ops.tests import fake_ngrok
from ops.tunnel import dev_server_env

TOKEN = "fake-ngrok-token"
# Keys of this run's own: the tunnel refuses the built-in development ones.
SIGNING_KEYS = {
    "SECRET_KEY": "tunnel-test-secret-key-" + "s" * 40,
    "JWT_SECRET_KEY": "tunnel-test-jwt-secret-key-" + "j" * 40,
}
DOMAIN = "gatehouse-demo.ngrok-free.app"
FAST = 10  # seconds: every failure must be reported well within this


class Tunnel:
    """A running `manage.py tunnel`, its output read line by line as it comes."""

    ngrok_args: list[str]

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "tunnel", "--port", str(self.port), *args],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # so stop() can reach its children too
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None  # stdout=PIPE
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r} in:\n" + self.output())

    def output(self) -> str:
        return "\n".join(self.lines)

    def finish(self, timeout: float = FAST) -> tuple[int, list[str]]:
        """Waits for the command to end; its return code and every line it wrote."""
        self.process.wait(timeout)
        while (line := self._queue.get(timeout=5)) is not None:
            self.lines.append(line)
        return self.process.returncode, [line for line in self.lines if line.strip()]


@pytest.fixture(scope="module")
def fake_ngrok_dir(tmp_path_factory) -> Path:
    """A directory holding an executable `ngrok` that is really fake_ngrok.py."""
    directory = tmp_path_factory.mktemp("fake-ngrok-bin")
    executable = directory / "ngrok"
    source = Path(fake_ngrok.__file__).read_text()
    executable.write_text(f"#!{sys.executable}\n{source}")
    executable.chmod(0o755)
    return directory


@pytest.fixture
def tunnel_env(fake_ngrok_dir, served_database_template, tmp_path):
    database = database_copy(served_database_template, tmp_path / "site")
    return clean_env(
        database,
        PATH=f"{fake_ngrok_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        NGROK_AUTH_TOKEN=TOKEN,
        FAKE_NGROK_ARGS_FILE=str(tmp_path / "ngrok-args.json"),
        **SIGNING_KEYS,
    )


@pytest.fixture(scope="module")
def running_tunnel(fake_ngrok_dir, served_database_template, tmp_path_factory):
    """One tunnel on a reserved domain, with hosts and origins that exclude ngrok's."""
    directory = tmp_path_factory.mktemp("running-tunnel")
    env = clean_env(
        database_copy(served_database_template, directory),
        PATH=f"{fake_ngrok_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        NGROK_AUTH_TOKEN=TOKEN,
        NGROK_DOMAIN=DOMAIN,
        FAKE_NGROK_ARGS_FILE=str(directory / "ngrok-args.json"),
        # Only TUNNEL_HOST, which the command sets, can let the tunnel's host in.
        ALLOWED_HOSTS="localhost,127.0.0.1",
        CSRF_TRUSTED_ORIGINS="http://localhost:8000",
        # Asked for, as a .env might: the public server runs without it all the same.
        DEBUG="true",
        **SIGNING_KEYS,
    )
    tunnel = Tunnel(env, "--noreload")
    try:
        tunnel.wait_for(r"^\(ngrok forwards to")
        recorded = json.loads((directory / "ngrok-args.json").read_text())
        tunnel.ngrok_args = recorded["args"]
        yield tunnel
    finally:
        stop(tunnel.process, group=True)


def _through_tunnel(tunnel: Tunnel, method: str, path: str, **kwargs):
    """A request as ngrok forwards it: the public Host, and https in X-Forwarded-Proto."""
    headers = {
        "Host": DOMAIN,
        "X-Forwarded-Proto": "https",
        **kwargs.pop("headers", {}),
    }
    return http_request(tunnel.port, method, path, headers=headers, **kwargs)


def _sign_in(tunnel: Tunnel) -> str:
    reply = _through_tunnel(
        tunnel,
        "POST",
        "/api/v1/auth/login/",
        json_body={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
    )
    assert reply.status == HTTPStatus.OK, reply.body
    return reply.json()["access"]


def test_tunnel_prints_the_public_admin_and_docs_urls(running_tunnel):
    output = running_tunnel.output()

    assert f"Public URL: https://{DOMAIN}\n" in output + "\n"
    assert f"Admin:      https://{DOMAIN}/admin/" in output
    assert f"API docs:   https://{DOMAIN}/docs" in output


def test_ngrok_is_asked_for_the_domain_and_pointed_at_the_server(running_tunnel):
    args = running_tunnel.ngrok_args

    assert args[:2] == ["http", f"127.0.0.1:{running_tunnel.port}"]
    assert args[args.index("--url") + 1] == f"https://{DOMAIN}"
    assert args[args.index("--authtoken") + 1] == TOKEN
    assert args[args.index("--log-format") + 1] == "json"


def test_server_builds_https_links_for_the_tunnel_host(running_tunnel):
    access = _sign_in(running_tunnel)
    for title in ("First", "Second"):
        _through_tunnel(
            running_tunnel,
            "POST",
            "/api/v1/resources/",
            json_body={"title": title},
            bearer=access,
        )

    reply = _through_tunnel(
        running_tunnel, "GET", "/api/v1/resources/?page_size=1", bearer=access
    )

    assert reply.status == HTTPStatus.OK, reply.body
    assert reply.json()["next"].startswith(f"https://{DOMAIN}/api/v1/resources/?")


def test_tunnel_origin_passes_the_admin_login_csrf_check(running_tunnel):
    page = _through_tunnel(running_tunnel, "GET", "/admin/login/")
    cookie = page.headers["Set-Cookie"].split(";")[0]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text())[1]
    form = f"username={ADMIN_EMAIL}&password={ADMIN_PASSWORD}"
    form += f"&csrfmiddlewaretoken={token}&next=/admin/"

    reply = _through_tunnel(
        running_tunnel,
        "POST",
        "/admin/login/",
        body=form.encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie,
            "Origin": f"https://{DOMAIN}",
        },
    )

    assert reply.status == HTTPStatus.FOUND, reply.text()[:500]
    assert reply.headers["Location"] == "/admin/"


def test_the_public_server_runs_with_debug_off(running_tunnel):
    reply = _through_tunnel(running_tunnel, "GET", "/no-such-page")

    assert reply.status == HTTPStatus.NOT_FOUND
    assert "URLconf" not in reply.text()  # Django's technical 404 names it


def test_other_hosts_are_still_refused(running_tunnel):
    reply = http_request(
        running_tunnel.port, "GET", "/health", headers={"Host": "evil.example.com"}
    )

    assert reply.status == HTTPStatus.BAD_REQUEST


def test_ctrl_c_stops_ngrok_and_the_server(tunnel_env, tmp_path):
    tunnel = Tunnel(tunnel_env, "--noreload")
    try:
        tunnel.wait_for(rf"^Public URL: {re.escape(fake_ngrok.RANDOM_URL)}$")
        tunnel.wait_for(r"^\(ngrok forwards to")
        ngrok_pid = json.loads((tmp_path / "ngrok-args.json").read_text())["pid"]

        tunnel.process.send_signal(signal.SIGINT)
        returncode, _ = tunnel.finish()

        assert returncode == 0
        assert port_is_closed(tunnel.port)
        with pytest.raises(ProcessLookupError):
            os.kill(ngrok_pid, 0)
    finally:
        stop(tunnel.process, group=True)


def test_public_url_is_read_from_ngroks_local_api_when_the_log_has_none(tunnel_env):
    tunnel = Tunnel({**tunnel_env, "FAKE_NGROK_MODE": "api"}, "--noreload")
    try:
        line = tunnel.wait_for(r"^Public URL: ")

        assert line == f"Public URL: {fake_ngrok.RANDOM_URL}"
    finally:
        stop(tunnel.process, group=True)


def _fails_in_one_line(env: dict[str, str], *args: str) -> str:
    started = time.monotonic()
    tunnel = Tunnel(env, "--noreload", *args)
    try:
        returncode, lines = tunnel.finish(timeout=FAST)
    finally:
        stop(tunnel.process, group=True)

    assert returncode == 1  # CommandError's
    assert len(lines) == 1, lines
    assert time.monotonic() - started < FAST
    assert port_is_closed(tunnel.port)
    return lines[0]


def test_missing_auth_token_is_one_line_and_fails_fast(tunnel_env):
    env = {k: v for k, v in tunnel_env.items() if k != "NGROK_AUTH_TOKEN"}

    line = _fails_in_one_line(env)

    assert "NGROK_AUTH_TOKEN is not set" in line
    assert "dashboard.ngrok.com" in line


@pytest.mark.parametrize("name", ["SECRET_KEY", "JWT_SECRET_KEY"])
def test_an_unset_signing_key_is_refused_in_one_line(tunnel_env, name):
    # Empty rather than absent: a developer's own .env must not fill it in.
    line = _fails_in_one_line({**tunnel_env, name: ""})

    assert f"{name} is unset or the built-in development value" in line
    assert "make run" in line


@pytest.mark.parametrize(
    ("name", "built_in"),
    [
        ("SECRET_KEY", "django-insecure-gatehouse-development-only"),
        ("JWT_SECRET_KEY", "django-insecure-gatehouse-jwt-development-only"),
    ],
)
def test_a_built_in_signing_key_is_refused_in_one_line(tunnel_env, name, built_in):
    line = _fails_in_one_line({**tunnel_env, name: built_in})

    assert f"{name} is unset or the built-in development value" in line


def test_ngrok_not_on_path_is_one_line_and_fails_fast(tunnel_env, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()

    line = _fails_in_one_line({**tunnel_env, "PATH": str(empty)})

    assert "ngrok is not installed" in line
    assert "https://ngrok.com/download" in line


def test_ngrok_exiting_with_an_error_is_one_line_and_does_not_hang(tunnel_env):
    line = _fails_in_one_line({**tunnel_env, "FAKE_NGROK_MODE": "fail"})

    assert "ngrok exited with code 1: authentication failed" in line
    assert "ERR_NGROK_105" in line


def test_ngrok_that_never_reports_a_url_times_out_in_one_line(tunnel_env):
    line = _fails_in_one_line(
        {**tunnel_env, "FAKE_NGROK_MODE": "silent"}, "--timeout", "2"
    )

    assert "ngrok reported no public URL within 2 s" in line


def test_url_prefix_without_a_proxy_port_is_refused_in_one_line(tunnel_env):
    line = _fails_in_one_line({**tunnel_env, "URL_PREFIX": "/gatehouse"})

    assert "--proxy-port" in line


def test_proxy_port_points_ngrok_at_the_proxy_and_urls_carry_the_prefix(
    tunnel_env, tmp_path
):
    proxy_port = free_port()
    env = {**tunnel_env, "URL_PREFIX": "/gatehouse"}
    tunnel = Tunnel(env, "--noreload", "--proxy-port", str(proxy_port))
    try:
        tunnel.wait_for(r"^\(ngrok forwards to")
        args = json.loads((tmp_path / "ngrok-args.json").read_text())["args"]

        assert args[:2] == ["http", f"127.0.0.1:{proxy_port}"]
        output = tunnel.output()
        assert f"Public URL: {fake_ngrok.RANDOM_URL}/gatehouse/" in output
        assert f"Admin:      {fake_ngrok.RANDOM_URL}/gatehouse/admin/" in output
        assert f"API docs:   {fake_ngrok.RANDOM_URL}/gatehouse/docs" in output
    finally:
        stop(tunnel.process, group=True)


def test_dev_server_gets_the_tunnel_as_its_host_and_public_url():
    environ = {"PATH": "/usr/bin", "BASE_URL": "http://localhost:8000"}

    env = dev_server_env(public_url=f"https://{DOMAIN}", environ=environ)

    assert env["TUNNEL_HOST"] == DOMAIN
    assert env["BASE_URL"] == f"https://{DOMAIN}"
    assert env["PATH"] == "/usr/bin"


def test_ctrl_c_while_waiting_for_ngrok_stops_it(tunnel_env, tmp_path):
    args_file = tmp_path / "ngrok-args.json"
    tunnel = Tunnel({**tunnel_env, "FAKE_NGROK_MODE": "silent"}, "--noreload")
    try:
        deadline = time.monotonic() + FAST
        while not args_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the stand-in has written its file; let it settle
        ngrok_pid = json.loads(args_file.read_text())["pid"]

        tunnel.process.send_signal(signal.SIGINT)
        returncode, _ = tunnel.finish()

        assert returncode == 0
        with pytest.raises(ProcessLookupError):
            os.kill(ngrok_pid, 0)
    finally:
        stop(tunnel.process, group=True)
