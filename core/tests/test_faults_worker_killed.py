"""A task worker killed (SIGKILL) mid-task: another worker runs the task again, once.

Workers are the Procfile's worker line, as processes, against a fresh PostgreSQL
database; two replacements run side by side, so "once" means once among them.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import psycopg
from django_tasks.base import TaskResultStatus

from core.tests.legs import sqlite_leg_only
from core.tests.production_app import ROOT, procfile_line, production_env, run

HEARTBEAT_SECONDS = 1
STALE_SECONDS = 2


def _worker(env: dict[str, str], name: str, log: Path) -> subprocess.Popen:
    command = (
        f"exec {procfile_line('worker')} --worker-id {name}"
        " --interval 0.2 --no-startup-delay"
    )
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603
            ["bash", "-c", command],  # noqa: S607
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _enqueue(env: dict[str, str], marker: Path) -> str:
    code = f"from core.tests.worker_tasks import gated; print(gated.enqueue({str(marker)!r}).id)"
    return run(f'python manage.py shell --no-imports -c "{code}"', env).split()[-1]


def _task_row(database_url: str, task_id: str) -> tuple[str, list[str]]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT status, worker_ids FROM django_tasks_database_dbtaskresult WHERE id = %s",
            [task_id],
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def _workers_seen(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM core_taskworker").fetchone()
    assert row is not None
    return row[0]


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@sqlite_leg_only
def test_a_task_whose_worker_was_killed_runs_again_once_on_another_worker(
    tmp_path, fresh_postgres
):
    env = production_env(
        database_url=fresh_postgres,
        media_root=tmp_path / "assets",
        TASK_WORKER_HEARTBEAT_SECONDS=str(HEARTBEAT_SECONDS),
        TASK_WORKER_STALE_SECONDS=str(STALE_SECONDS),
    )
    run(procfile_line("release"), env)
    marker = tmp_path / "gated.log"
    task_id = _enqueue(env, marker)
    first = _worker(env, "worker-a", tmp_path / "worker-a.log")
    replacements: list[subprocess.Popen] = []
    try:
        _wait_for(marker.exists, timeout=30, what="the first run to start")

        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        status_after_kill = _task_row(fresh_postgres, task_id)
        marker.with_suffix(".open").touch()
        replacements = [
            _worker(env, name, tmp_path / f"{name}.log")
            for name in ("worker-b", "worker-c")
        ]
        _wait_for(
            lambda: (
                _task_row(fresh_postgres, task_id)[0] == TaskResultStatus.SUCCESSFUL
            ),
            timeout=STALE_SECONDS + 30,
            what="the task to run again",
        )
    finally:
        for worker in [first, *replacements]:
            if worker.poll() is None:
                worker.terminate()
        for worker in [first, *replacements]:
            worker.wait(timeout=15)

    assert status_after_kill == (TaskResultStatus.RUNNING, ["worker-a"])
    notes = marker.read_text().splitlines()
    assert sum(line.startswith("started") for line in notes) == 2
    assert sum(line.startswith("done") for line in notes) == 1
    status, workers = _task_row(fresh_postgres, task_id)
    assert workers[0] == "worker-a"
    assert len(workers) == 2
    assert workers[1] in {"worker-b", "worker-c"}
    # Stopped gracefully, the replacements leave no worker row behind.
    assert _workers_seen(fresh_postgres) == 0
