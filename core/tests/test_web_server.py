"""The production web server (config/serve.py, granian) as it runs: what reaches
request.META, and what bounds slow clients and huge bodies."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

from config.wsgi_environ import WithoutProcessEnvironment
from core.tests.served_app import ADMIN_EMAIL, ADMIN_PASSWORD, database_copy
from core.tests.web_process import Served, fetch, web_server

CANARY = "a-process-secret-that-must-not-reach-a-request"
MB = 1024 * 1024


def _answer(environ: dict, start_response) -> list[bytes]:
    start_response("200 OK", [])
    return [b""]


def test_process_variables_are_dropped_and_the_request_keeps_its_own():
    seen: list[dict] = []
    app = WithoutProcessEnvironment(
        lambda environ, start: seen.append(dict(environ)) or _answer(environ, start),
        {"SECRET_KEY": CANARY, "HTTP_X_TENANT": "from-the-process", "PORT": "8000"},
    )
    process_part = {"SECRET_KEY": CANARY, "HTTP_X_TENANT": "from-the-process"}

    app({**process_part, "PORT": "8000", "REQUEST_METHOD": "GET"}, lambda *a: None)
    app(
        {**process_part, "HTTP_X_TENANT": "acme", "REQUEST_METHOD": "GET"},
        lambda *a: None,
    )

    assert seen[0] == {"REQUEST_METHOD": "GET"}
    assert seen[1] == {"HTTP_X_TENANT": "acme", "REQUEST_METHOD": "GET"}


# Writes the environ Django's handler receives, key by key, to a file.
ENVIRON_DUMP = """
import json
from django.core.signals import request_started

def _dump(sender, environ, **kwargs):
    with open({path!r}, "a") as out:
        out.write(json.dumps({{k: v for k, v in environ.items() if isinstance(v, str)}}) + "\\n")

request_started.connect(_dump, weak=False)
"""


def test_under_the_web_server_no_process_variable_reaches_the_request(tmp_path):
    dump = tmp_path / "environ.jsonl"
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/db",
        "SECRET_KEY": CANARY,
        "CLOUD_STORAGE_SECRET_KEY": CANARY,
        "HTTP_X_TENANT": CANARY,  # a process variable named like a header
    }
    with web_server(
        tmp_path, env=env, before_serving=ENVIRON_DUMP.format(path=str(dump))
    ) as server:
        fetch(f"{server.url}/api/v1/auth/me/", headers={"X-Probe": "kept"})
        fetch(f"{server.url}/api/v1/auth/me/", headers={"X-Tenant": "acme"})

    first, second = (json.loads(line) for line in dump.read_text().splitlines())
    assert CANARY not in json.dumps([first, second])
    assert not {"PATH", "HOME", "DJANGO_SETTINGS_MODULE"} & set(first)
    assert first["HTTP_X_PROBE"] == "kept"
    assert (first["REQUEST_METHOD"], first["PATH_INFO"]) == ("GET", "/api/v1/auth/me/")
    assert second["HTTP_X_TENANT"] == "acme"


def test_a_client_that_sends_its_headers_too_slowly_is_cut_off(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/db", "WEB_HEADER_READ_TIMEOUT": "1"}
    with web_server(tmp_path, env=env) as server, _connect(server) as slow:
        slow.sendall(b"GET /health HTTP/1.1\r\nHost: local")
        started = time.monotonic()
        while time.monotonic() - started < 10:
            time.sleep(0.2)
            try:
                slow.sendall(b"h")  # a byte now and then: never the whole header
            except OSError:
                break

        assert time.monotonic() - started < 5


def _connect(server: Served) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def _send_huge_body(server: Served, headers: str, *, chunked: bool) -> bytes:
    """Sends up to 200 MB until the server answers; returns the answer's first bytes."""
    with _connect(server) as client:
        client.sendall(headers.encode())
        client.settimeout(0.05)
        piece = b"x" * MB
        for _ in range(200):
            try:
                client.sendall(b"%x\r\n%s\r\n" % (MB, piece) if chunked else piece)
                if answer := client.recv(200):
                    return answer
            except TimeoutError:
                continue
            except OSError:
                break  # refused and closed: the answer is waiting
        client.settimeout(10)
        return client.recv(200)


def test_huge_bodies_are_refused_without_the_worker_holding_them(
    served_database_template, tmp_path
):
    env = {
        "DATABASE_URL": f"sqlite:///{database_copy(served_database_template, tmp_path)}"
    }
    with web_server(tmp_path, env=env) as server:
        signed_in = fetch(
            f"{server.url}/api/v1/auth/login/",
            method="POST",
            headers={"Content-Type": "application/json"},
            body=json.dumps(
                {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
            ).encode(),
        )
        bearer = f"Authorization: Bearer {json.loads(signed_in.body)['access']}\r\n"
        (worker,) = server.worker_pids()
        before = _rss_kb(worker)
        post = (
            "POST /api/v1/resources/ HTTP/1.1\r\nHost: localhost\r\n"
            f"Content-Type: application/json\r\n{bearer}"
        )
        declared = _send_huge_body(
            server, post + f"Content-Length: {200 * MB}\r\n\r\n", chunked=False
        )
        chunked = _send_huge_body(
            server, post + "Transfer-Encoding: chunked\r\n\r\n", chunked=True
        )
        grown_mb = (_rss_kb(worker) - before) / 1024

    assert declared.startswith(b"HTTP/1.1 413")
    # Without Content-Length Django reads the body as empty: the title is missing.
    assert chunked.startswith(b"HTTP/1.1 400")
    assert grown_mb < 20


def test_the_workers_stop_when_the_main_process_is_killed(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/db", "WEB_CONCURRENCY": "2"}
    with web_server(tmp_path, env=env) as server:
        workers = server.worker_pids()
        os.kill(server.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while alive := [pid for pid in workers if _running(pid)]:
            assert time.monotonic() < deadline, f"workers {alive} outlived it"
            time.sleep(0.1)

    assert len(workers) == 2


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has stopped; its parent (init) reaps it


def test_loading_the_project_moves_it_out_of_the_collectors_way():
    import gc

    from config.serve import load_application

    gc.unfreeze()
    try:
        load_application()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
