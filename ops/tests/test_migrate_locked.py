"""`manage.py migrate_locked`: deploy steps that start together apply each migration once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import yaml

from core.tests.served_app import BASE_DIR, clean_env


def _run_together(env: dict[str, str], count: int = 2) -> list[tuple[int, str, str]]:
    processes = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "migrate_locked"],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        results.append((process.returncode, out.strip(), err))
    return results


def test_two_concurrent_runs_on_fresh_postgresql_apply_each_migration_once(
    fresh_postgres, tmp_path
):
    env = clean_env(tmp_path / "unused.sqlite3", DATABASE_URL=fresh_postgres)

    results = _run_together(env)

    assert [code for code, _, _ in results] == [0, 0], results
    outputs = sorted(out for _, out, _ in results)
    assert outputs[0].startswith("Applied ")
    assert outputs[1] == "No migrations to apply."
    with psycopg.connect(fresh_postgres) as db:
        repeated = db.execute(
            "SELECT app, name FROM django_migrations"
            " GROUP BY app, name HAVING count(*) > 1"
        ).fetchall()
        runs = db.execute(
            "SELECT count(*) FROM core_activitylog WHERE action = 'migrations.applied'"
        ).fetchone()[0]
    assert repeated == []
    assert runs == 1


def test_two_concurrent_runs_on_a_fresh_sqlite_file_both_succeed(tmp_path):
    env = clean_env(tmp_path / "db.sqlite3")

    results = _run_together(env)

    assert [code for code, _, _ in results] == [0, 0], results
    assert sorted(out for _, out, _ in results)[1] == "No migrations to apply."


def _render_service(kind: str) -> dict:
    blueprint = yaml.safe_load((Path(BASE_DIR) / "render.yaml").read_text())
    return next(s for s in blueprint["services"] if s["type"] == kind)


def _script(command: str) -> str:
    return (Path(BASE_DIR) / command.split()[0]).read_text()


def test_the_worker_build_on_render_only_installs():
    script = _script(_render_service("worker")["buildCommand"])

    assert "pip install" in script
    assert "manage.py" not in script


def test_the_web_build_on_render_migrates_under_the_lock():
    script = _script(_render_service("web")["buildCommand"])

    assert "manage.py migrate_locked" in script
    assert "manage.py migrate\n" not in script
