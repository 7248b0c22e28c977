"""A PostgreSQL cluster of a test's own, on a free port, that the test may stop.

The shared server on 5432 is never stopped or restarted: other tests use it.
initdb and postgres refuse to run as root, so the cluster's folder belongs to the
postgres user and its programs run as that user when the tests run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import services_required
from core.tests.served_app import free_port


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


@dataclass
class PrivatePostgres:
    bin_dir: Path
    data: Path
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str, timeout: float = 60) -> None:
        _run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), *args],
            timeout=timeout,
        )

    def start(self) -> None:
        self.pg_ctl("-l", str(self.log), "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-m", mode, "-w", "-t", "30", "stop")

    def restart(self) -> None:
        # With its log file named, the server holds no pipe of pg_ctl's open.
        self.pg_ctl("-l", str(self.log), "-m", "fast", "-w", "-t", "30", "restart")


def _as_postgres(command: list[str]) -> list[str]:
    return (
        ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command
    )


def _run(command: list[str], *, timeout: float) -> None:
    result = subprocess.run(  # noqa: S603
        _as_postgres(command), capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A new cluster, started; stopped and removed afterwards."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        if services_required():
            raise RuntimeError("PostgreSQL's server programs are not installed")
        pytest.skip("PostgreSQL's server programs are not installed")
    root = Path(tempfile.mkdtemp(prefix="gatehouse-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = PrivatePostgres(bin_dir, root / "data", free_port(), root / "server.log")
    try:
        _run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(cluster.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            timeout=120,
        )
        with (cluster.data / "postgresql.conf").open("a") as conf:
            # Durability against power loss is not under test; a restart is.
            conf.write(
                f"port = {cluster.port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{root}'\n"
                "fsync = off\n"
                "full_page_writes = off\n"
                "max_connections = 50\n"
            )
        cluster.start()
        yield cluster
    finally:
        if (cluster.data / "postmaster.pid").exists():
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
