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
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
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


def test_the_open_loop_scenario_is_reported_without_errors(bench_run):
    table, _, _ = bench_run

    row = _row(table, "| 1,000 users")

    assert _number(row[2]) > 0  # served per second
    assert row[6].startswith("0 (")
    assert "p95 < 200 ms" in row[9]


def test_it_leaves_no_process_or_database_behind(bench_run):
    _, stdout, prefix = bench_run

    pids = re.search(r"stopping pids (\d+), (\d+)", stdout).groups()

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
