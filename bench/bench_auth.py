"""Benchmark of the authenticated hot path, against the real web server (config/serve.py).

    .venv/bin/python bench/bench_auth.py                      # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gatehouse_bench .venv/bin/python bench/bench_auth.py

Starts the web server (granian, 2 workers) on a scratch database, signs a user in, then drives
GET /api/v1/auth/me/ and GET /health from keep-alive connections for a fixed
number of requests, and prints throughput and latency percentiles. It also
times failed logins for a known and an unknown email (Argon2).
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("BENCH_PORT", "8799"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "4000"))
PASSWORD = "bench-passphrase-long-enough"  # noqa: S105


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)  # noqa: S603


def request(
    conn: http.client.HTTPConnection, method: str, path: str, body=None, headers=None
):
    conn.request(
        method, path, body=json.dumps(body) if body else None, headers=headers or {}
    )
    response = conn.getresponse()
    return response.status, response.read()


def drive(path: str, headers: dict) -> tuple[float, list[float]]:
    latencies: list[float] = []
    per_conn = REQUESTS // CONNECTIONS
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        mine = []
        for _ in range(per_conn):
            start = time.perf_counter()
            status, _ = request(conn, "GET", path, headers=headers)
            mine.append(time.perf_counter() - start)
            assert status == 200, status
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, latencies


def report(name: str, elapsed: float, latencies: list[float]) -> None:
    latencies.sort()
    p = lambda q: latencies[int(q * (len(latencies) - 1))] * 1000  # noqa: E731
    print(
        f"{name:<28} {len(latencies) / elapsed:8.0f} req/s   "
        f"p50 {p(0.5):6.2f} ms   p99 {p(0.99):6.2f} ms   ({len(latencies)} requests)"
    )


def main() -> None:
    scratch = tempfile.mkdtemp(prefix="gatehouse-bench-")
    env = {
        **os.environ,
        "DATABASE_URL": os.environ.get("DATABASE_URL")
        or f"sqlite:///{scratch}/bench.sqlite3",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "THROTTLE_SIGNIN_IP": "100000/minute",
        "THROTTLE_SIGNIN_ACCOUNT": "100000/minute",
        "LOG_LEVEL": "WARNING",
    }
    manage(env, "migrate", "--no-input", "-v0")
    manage(
        env,
        "shell",
        "-c",
        "from accounts.models import User; from accounts import services;"
        "User.objects.filter(email='bench@example.com').delete();"
        f"services.user_create_admin(email='bench@example.com', password='{PASSWORD}')",
    )
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "config.serve"],
        cwd=ROOT,
        env={
            **env,
            "PORT": str(PORT),
            "WEB_BIND_ADDRESS": "127.0.0.1",
            "WEB_CONCURRENCY": "2",
        },
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request(
                    "GET", "/health"
                )
                break
            except OSError:
                time.sleep(0.1)
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        headers = {"Content-Type": "application/json"}
        status, body = request(
            conn,
            "POST",
            "/api/v1/auth/login/",
            {"email": "bench@example.com", "password": PASSWORD},
            headers,
        )
        assert status == 200, body
        bearer = {"Authorization": f"Bearer {json.loads(body)['access']}"}

        drive("/api/v1/auth/me/", bearer)  # warm-up
        report("GET /api/v1/auth/me/", *drive("/api/v1/auth/me/", bearer))
        report("GET /health", *drive("/health", {}))

        for label, email in (
            ("known", "bench@example.com"),
            ("unknown", "nobody@example.com"),
        ):
            times = []
            for _ in range(20):
                start = time.perf_counter()
                request(
                    conn,
                    "POST",
                    "/api/v1/auth/login/",
                    {"email": email, "password": "wrong"},
                    headers,
                )
                times.append(time.perf_counter() - start)
            print(
                f"failed login, {label:<8} email  median {statistics.median(times) * 1000:6.1f} ms"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
