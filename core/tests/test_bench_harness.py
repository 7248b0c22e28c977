"""`make bench` end to end in its smallest mode: one workload, one-second runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from conftest import PG_SERVER, services_required
from core.tests.legs import sqlite_leg_only

ROOT = Path(settings.BASE_DIR)
pytestmark = sqlite_leg_only


def _needs(available: bool, why: str) -> None:
    if not available:
        if services_required():
            pytest.fail(why)
        pytest.skip(why)


def _postgres_reachable() -> bool:
    try:
        psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    _needs(shutil.which("wrk") is not None, "wrk is missing (make wrk installs it)")
    _needs(_postgres_reachable(), "PostgreSQL is not reachable on 127.0.0.1:5432")
    prefix = os.environ.get("BENCH_DATABASE_PREFIX", "gatehouse_bench")
    prefix = f"{prefix}_{uuid.uuid4().hex[:6]}"
    output = tmp_path_factory.mktemp("bench") / "latest.md"
    done = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "bench/run.py",
            "--quick",
            "--workloads",
            "W1",
            "--connections",
            "4",
            "--users",
            "2",
            "--resources-per-user",
            "10",
            "--open-loop-rate",
            "20",
            "--database-prefix",
            prefix,
            "--output",
            str(output),
            "--compare",
            "onethread=env WEB_THREADS=1 python -m config.serve",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return output.read_text(), done.stdout, prefix


def _row(table: str, start: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(start))
    return [cell.strip() for cell in line.strip("|").split("|")]


def _number(cell: str) -> float:
    return float(cell.replace(",", "").rstrip("×%"))


def test_the_table_holds_sane_figures_for_gatehouse_and_the_floor(bench_run):
    table, _, _ = bench_run

    gatehouse = _row(table, "| W1 `GET /health` | 4 | gatehouse")
    floor = _row(table, "| W1 (floor app) | 4 | floor")

    for row in (gatehouse, floor):
        rps, p50, p95, p99, errors = row[3], row[4], row[5], row[6], row[7]
        assert _number(rps) > 0
        assert 0 < _number(p50) <= _number(p95) <= _number(p99)
        assert errors == "0"
        assert _number(row[9]) > 0  # server CPU per request
    assert _number(floor[8]) == 1
    assert _number(gatehouse[8]) == pytest.approx(
        _number(gatehouse[3]) / _number(floor[3]), rel=0.01
    )
    assert gatehouse[11].startswith("≥ 0.8× floor")
    assert gatehouse[12] in {"met", "not met: req/s"}


def test_a_compare_variant_runs_beside_gatehouse_and_is_put_beside_it(bench_run):
    table, _, _ = bench_run

    variant = _row(table, "| W1 (onethread) `GET /health` | 4 | onethread")
    beside = _row(table, "| W1 `GET /health` | 4 | onethread")
    gatehouse = _row(table, "| W1 `GET /health` | 4 | gatehouse")

    assert _number(variant[3]) > 0
    assert variant[7] == "0"
    assert _number(beside[5]) == pytest.approx(
        _number(variant[3]) / _number(gatehouse[3]), abs=0.01
    )
    assert "onethread: `env WEB_THREADS=1 python -m config.serve`" in table


@pytest.mark.parametrize(
    "text", ["floor=python x", "Upper=python x", "nocommand=", "no equals sign"]
)
def test_a_compare_variant_needs_a_name_of_its_own_and_a_command(text):
    from bench.run import compare_variant

    with pytest.raises(SystemExit):
        compare_variant(text)


def test_the_open_loop_scenario_is_reported_without_errors(bench_run):
    table, _, _ = bench_run

    row = _row(table, "| 1,000 users")

    assert _number(row[2]) > 0  # served per second
    assert row[6].startswith("0 (")
    assert "p95 < 200 ms" in row[9]


def test_it_leaves_no_process_or_database_behind(bench_run):
    _, stdout, prefix = bench_run

    pids = re.search(r"stopping pids ([\d, ]+)", stdout).group(1).split(", ")
    assert len(pids) == 3  # Gatehouse, the floor, the --compare variant

    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
    with psycopg.connect(f"{PG_SERVER}/postgres") as admin:
        left = admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{prefix}%"]
        ).fetchall()
    assert left == []


@pytest.fixture
def floor_server(tmp_path):
    """bench/floor.py under gunicorn gthread, as the harness starts it."""
    from core.tests.served_app import free_port, wait_for_port

    port = free_port()
    with (tmp_path / "floor.log").open("w") as log:
        process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "bench.floor:app",
                "--worker-class=gthread",
                "--workers=1",
                "--threads=2",
                f"--bind=127.0.0.1:{port}",
                "--no-control-socket",
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, process=process, timeout=30)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=15)


@pytest.fixture
def wrk_installed() -> None:
    _needs(shutil.which("wrk") is not None, "wrk is missing (make wrk installs it)")


def test_the_wrk_script_counts_every_response_with_another_status(
    wrk_installed, floor_server
):
    done = subprocess.run(  # noqa: S603
        [  # noqa: S607
            "wrk",
            "-t1",
            "-c2",
            "-d1s",
            "-s",
            str(ROOT / "bench/wrk/bench.lua"),
            f"http://127.0.0.1:{floor_server}/",
        ],
        env={**os.environ, "BENCH_METHOD": "GET", "BENCH_EXPECT": "201"},
        capture_output=True,
        text=True,
        timeout=30,
    )

    line = next(row for row in done.stdout.splitlines() if row.startswith("BENCH_JSON"))
    data = json.loads(line.removeprefix("BENCH_JSON "))
    assert data["requests"] > 0
    assert data["unexpected_status"] == data["requests"]
    assert data["last_unexpected_status"] == 200


def test_a_run_with_errors_shows_them_and_misses_its_goal():
    from bench.run import WORKLOADS, Row, Run, results_table

    def run(requests: int, errors: dict) -> Run:
        return Run(
            requests=requests,
            seconds=1.0,
            p50_ms=1.0,
            p95_ms=2.0,
            p99_ms=3.0,
            errors=errors,
            server_cpu_s=0.5,
            client_cpu_s=0.1,
        )

    rows = [
        Row(WORKLOADS["W1"], 16, "floor", [run(1000, {})]),
        Row(WORKLOADS["W1"], 16, "gatehouse", [run(900, {"timeout": 3, "read": 0})]),
    ]

    gatehouse = _row("\n".join(results_table(rows)), "| W1 `GET /health` | 16")

    assert gatehouse[7] == "3 timeout"
    assert gatehouse[12] == "not met: errors"


def _run(requests: int, p95_ms: float = 2.0):
    from bench.run import Run

    return Run(
        requests=requests,
        seconds=1.0,
        p50_ms=1.0,
        p95_ms=p95_ms,
        p99_ms=p95_ms * 1.5,
        errors={},
        server_cpu_s=0.5,
        client_cpu_s=0.1,
    )


def _fake_template(root: Path) -> Path:
    """A folder shaped like a built template: backend/ and its venv's fastapi."""
    for name in ("backend/app/main.py", "backend/alembic.ini", ".venv/bin/fastapi"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("")
    return root


def test_the_template_is_started_as_issue_14_says_from_its_own_venv(
    tmp_path, monkeypatch
):
    from bench.run import parse_args, template_command, template_env, template_paths

    folder = _fake_template(tmp_path / "fastapi-template")
    monkeypatch.setenv("BENCH_TEMPLATE_DIR", str(folder))

    args = parse_args([])
    command = template_command(Path(args.template_dir), 18801)
    env = template_env(
        folder, postgres="postgres://bench:pw@127.0.0.1:5433", database="tpl_db"
    )

    assert template_paths(folder)[0] == folder / "backend"  # its cwd
    assert command == [
        str(folder / ".venv/bin/fastapi"),
        "run",
        "--workers",
        "2",
        "--host",
        "127.0.0.1",
        "--port",
        "18801",
        "app/main.py",
    ]
    assert env["PATH"].startswith(f"{folder / '.venv/bin'}:")
    assert env["ENVIRONMENT"] == "local"
    assert (env["POSTGRES_SERVER"], env["POSTGRES_PORT"]) == ("127.0.0.1", "5433")
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("bench", "pw")
    assert env["POSTGRES_DB"] == "tpl_db"
    for name in ("SECRET_KEY", "FIRST_SUPERUSER", "FIRST_SUPERUSER_PASSWORD"):
        assert env[name] not in ("", "changethis")


def test_a_folder_that_is_not_a_built_template_stops_the_run_at_once(tmp_path):
    from bench.run import template_paths

    (tmp_path / "backend").mkdir()

    with pytest.raises(SystemExit, match="backend/app/main.py is missing"):
        template_paths(tmp_path)


def test_beside_the_template_the_goals_are_its_multiples_and_the_ratios_shown():
    from bench.run import WORKLOADS, Row, comparison_table, results_table

    rows = [
        Row(WORKLOADS["W2"], 64, "gatehouse", [_run(1000)]),
        Row(WORKLOADS["W2"], 64, "template", [_run(300)]),
        Row(WORKLOADS["W3"], 64, "gatehouse", [_run(100)]),
        Row(WORKLOADS["W3"], 64, "template", [_run(50)]),
        Row(WORKLOADS["W5"], 64, "gatehouse", [_run(10)]),
        Row(WORKLOADS["W5"], 64, "template", [_run(8)]),
    ]

    table = "\n".join(results_table(rows))
    me, lists, login = (_row(table, f"| {name} `") for name in ("W2", "W3", "W5"))
    template_me = _row(table, "| W2 (template) `GET /api/v1/users/me`")
    compared = "\n".join(comparison_table(rows))

    assert (me[11], me[12]) == ("≥ 2.5× template; 0 errors", "met")  # 1000 ≥ 750
    assert (lists[11], lists[12]) == ("≥ 3× template; 0 errors", "not met: req/s")
    assert (login[11], login[12]) == ("≥ 1× template; 0 errors", "met")
    assert (template_me[2], template_me[3], template_me[12]) == ("template", "300", "")
    assert _row(compared, "| W2 ")[2:] == ["1,000 (2.00)", "300 (2.00)", "", "3.33×"]
    assert _row(compared, "| W3 ")[5] == "2.00×"


def test_without_the_template_the_goals_fall_back_to_the_floor_equivalents():
    from bench.run import WORKLOADS, Row, comparison_table, results_table

    rows = [
        Row(WORKLOADS["W1"], 16, "floor", [_run(1000)]),
        Row(WORKLOADS["W2"], 16, "gatehouse", [_run(150, p95_ms=10)]),
        Row(WORKLOADS["W5"], 16, "gatehouse", [_run(10)]),
    ]

    table = "\n".join(results_table(rows))
    me = _row(table, "| W2 `GET")
    login = _row(table, "| W5 `POST")

    assert me[11].startswith("≥ 0.12× floor")  # 2.5 × the template's 0.048×
    assert me[12] == "met"
    assert login[12] == "not judged"
    assert comparison_table(rows) == []


def test_a_template_run_that_served_nothing_judges_nothing():
    from bench.run import WORKLOADS, Row, results_table

    rows = [
        Row(WORKLOADS["W5"], 16, "gatehouse", [_run(10)]),
        Row(WORKLOADS["W5"], 16, "template", [_run(0)]),
    ]

    login = _row("\n".join(results_table(rows)), "| W5 `POST")

    assert login[12] == "not judged"


@pytest.fixture
def form_checking_server():
    """Answers 200 only to the template's OAuth2 form or its item JSON, else 400."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            kind = self.headers["Content-Type"]
            if kind == "application/x-www-form-urlencoded":
                form = parse_qs(raw.decode(), strict_parsing=True)
                ok = form == {
                    "username": ["bench0@example.com"],
                    "password": ["secret-pass"],
                }
            else:
                item = json.loads(raw)
                ok = set(item) == {"title", "description"} and len(raw) > 150
            self.send_response(200 if ok else 400)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("body", ["form_login", "item"])
def test_the_wrk_script_sends_the_templates_sign_in_form_and_item(
    wrk_installed, form_checking_server, body
):
    done = subprocess.run(  # noqa: S603
        [  # noqa: S607
            "wrk",
            "-t1",
            "-c1",
            "-d1s",
            "-s",
            str(ROOT / "bench/wrk/bench.lua"),
            f"http://127.0.0.1:{form_checking_server}/",
        ],
        env={
            **os.environ,
            "BENCH_METHOD": "POST",
            "BENCH_BODY": body,
            "BENCH_EMAILS": "bench0@example.com",
            "BENCH_PASSWORD": "secret-pass",
            "BENCH_EXPECT": "200",
        },
        capture_output=True,
        text=True,
        timeout=30,
    )

    line = next(row for row in done.stdout.splitlines() if row.startswith("BENCH_JSON"))
    data = json.loads(line.removeprefix("BENCH_JSON "))
    assert data["requests"] > 0
    assert data["unexpected_status"] == 0
