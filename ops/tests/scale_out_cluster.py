"""Three Gatehouse instances behind Caddy, sharing PostgreSQL through PgBouncer.

What a scaled-out deploy runs, on loopback: PgBouncer in transaction pooling mode
in front of a fresh database on the shared server, the shared Redis under a key
prefix of its own, moto's S3 server as the bucket, the Procfile's `release:` line
twice at once, its `worker:` line, and copies of its `web:` line behind Caddy with
deploy/loadbalancer/Caddyfile. Caddy's upstreams are fixed slots, one more than
the instances; its health checks decide which get traffic, so a rolling restart
needs no reload of its configuration.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest

from conftest import services_required
from core.tests.served_app import (
    BASE_DIR,
    Reply,
    free_port,
    http_request,
    stop,
    wait_for_port,
)
from core.tests.storage_servers import S3_KEY, S3_REGION, S3_SECRET

HOST = "gatehouse.test"
ADMIN_EMAIL, ADMIN_PASSWORD = "ops@gatehouse.test", "a-long-scale-out-passphrase"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CADDYFILE = BASE_DIR / "deploy" / "loadbalancer" / "Caddyfile"
# Fewer server connections than the instances' threads and the worker together, so
# transactions from different clients really share them.
SERVER_CONNECTIONS = 6
THROTTLE_SIGNIN_ACCOUNT_LIMIT = 5
DRAIN_SECONDS = 3
INSTANCES = 3


def procfile_line(kind: str) -> str:
    for line in (BASE_DIR / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == kind:
            return command.strip()
    raise AssertionError(f"Procfile has no {kind}: line")


# Debian installs it in /usr/sbin, which a user's PATH may lack.
PGBOUNCER = shutil.which("pgbouncer", path=f"{os.environ.get('PATH', '')}:/usr/sbin")


def tools_present() -> None:
    found = {"caddy": shutil.which("caddy"), "pgbouncer": PGBOUNCER}
    missing = [tool for tool, path in found.items() if path is None]
    if missing:
        reason = f"{' and '.join(missing)} not installed: apt-get install {' '.join(missing)}"
        if services_required():
            pytest.fail(reason)
        pytest.skip(reason)


# --- PgBouncer -------------------------------------------------------------------


@dataclass
class Bouncer:
    port: int

    def url(self, alias: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{alias}"


@contextmanager
def pgbouncer(database_url: str, *, aliases: tuple[str, ...]) -> Iterator[Bouncer]:
    """PgBouncer in transaction pooling mode; each alias is its own pool of
    SERVER_CONNECTIONS connections to database_url's database."""
    name = database_url.rsplit("/", 1)[1]
    port = free_port()
    # PgBouncer refuses to run as root: under root it drops to postgres (-u),
    # which must be able to read its files, so they sit outside pytest's 0700 dirs.
    directory = Path(tempfile.mkdtemp(prefix="gh_scale_pgbouncer_"))
    directory.chmod(0o755)
    (directory / "users.txt").write_text('"postgres" ""\n')
    databases = "\n".join(
        f"{alias} = host=127.0.0.1 port=5432 dbname={name}" for alias in aliases
    )
    (directory / "pgbouncer.ini").write_text(
        f"[databases]\n{databases}\n\n[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {directory / 'users.txt'}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {SERVER_CONNECTIONS}\nmax_client_conn = 200\n"
        "log_connections = 0\nlog_disconnections = 0\n"
    )
    for path in directory.iterdir():
        path.chmod(0o644)
    as_user = ["-u", "postgres"] if os.geteuid() == 0 else []
    log = (directory / "pgbouncer.log").open("w")
    process = subprocess.Popen(  # noqa: S603
        [str(PGBOUNCER), *as_user, str(directory / "pgbouncer.ini")],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(port, process=process)
        yield Bouncer(port=port)
    finally:
        stop(process, group=True)
        log.close()
        shutil.rmtree(directory, ignore_errors=True)


# --- The instances and the balancer ------------------------------------------------


@dataclass
class Instance:
    port: int
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Cluster:
    env: dict[str, str]
    directory: Path
    proxy_port: int
    admin_port: int
    bucket: str
    s3_endpoint: str
    release: list[tuple[int, str, str]]
    # The balancer's upstream addresses, fixed: one more than the instances, so a
    # new one can start beside the one it replaces. An empty one refuses, fails its
    # health check and gets no traffic.
    slots: list[int]
    instances: list[Instance] = field(default_factory=list)
    started: list[Instance] = field(default_factory=list)

    # HTTP: through the balancer, or straight to one instance as the balancer would.
    def via_proxy(self, method: str, path: str, **kwargs: Any) -> Reply:
        headers = {"Host": HOST, **kwargs.pop("headers", {})}
        return http_request(self.proxy_port, method, path, headers=headers, **kwargs)

    def via(self, instance: Instance, method: str, path: str, **kwargs: Any) -> Reply:
        headers = {
            "Host": HOST,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "198.51.100.7",
            **kwargs.pop("headers", {}),
        }
        return http_request(instance.port, method, path, headers=headers, **kwargs)

    def sign_in(self, instance: Instance | None = None) -> dict:
        body = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        reply = (
            self.via(instance, "POST", "/api/v1/auth/login/", json_body=body)
            if instance
            else self.via_proxy("POST", "/api/v1/auth/login/", json_body=body)
        )
        assert reply.status == HTTPStatus.OK, reply.body
        return reply.json()

    # Processes
    def start_instance(self) -> Instance:
        """The Procfile's web: line on a free slot, answering /health 200."""
        taken = {i.port for i in self.started if i.process.poll() is None}
        port = next(slot for slot in self.slots if slot not in taken)
        log = self.directory / f"web-{len(self.started) + 1}.log"
        with log.open("w") as out:
            process = subprocess.Popen(  # noqa: S603
                ["bash", "-c", f"exec {procfile_line('web')}"],  # noqa: S607
                cwd=BASE_DIR,
                env={**self.env, "PORT": str(port)},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # crash() kills the main process and its workers
            )
        instance = Instance(port=port, process=process, log=log)
        self.started.append(instance)  # stopped at the end whatever happens
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, instance.output()
            try:
                if self.via(instance, "GET", "/health").status == HTTPStatus.OK:
                    return instance
            except OSError:
                pass
            assert time.monotonic() < deadline, f"no /health 200:\n{instance.output()}"
            time.sleep(0.2)

    def serves_traffic(self, instance: Instance, *, timeout: float = 15) -> None:
        """Waits until the balancer sends it requests (an access line: probes
        answered 200 write none), i.e. its health check has passed."""
        deadline = time.monotonic() + timeout
        while '"web.access"' not in instance.output():
            assert time.monotonic() < deadline, "the balancer never sent it traffic"
            time.sleep(0.1)

    def reload_balancer(self, *, health_interval: str | None = None) -> None:
        """Reloads Caddy's configuration, optionally with active health checks this
        far apart. (Caddy 2.6 resets a few client connections on every reload: the
        rolling restart needs none.)"""
        config = CADDYFILE.read_text()
        if health_interval:
            config, found = re.subn(
                r"health_interval \S+", f"health_interval {health_interval}", config
            )
            assert found == 1
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.admin_port}/load",
            data=config.encode(),
            headers={"Content-Type": "text/caddyfile"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == HTTPStatus.OK

    def crash(self, instance: Instance) -> None:
        """SIGKILL to every process of the instance (a worker outlives its main process)."""
        os.killpg(instance.process.pid, signal.SIGKILL)
        instance.process.wait(timeout=10)

    def stop_instance(self, instance: Instance) -> int:
        """SIGTERM: /health fails while it drains (DRAIN_SECONDS), the balancer's
        health check takes it out, then in-flight requests finish and it exits."""
        instance.process.terminate()
        code = instance.process.wait(timeout=40)
        self.instances.remove(instance)
        return code


def _run_together(
    command: str, env: dict[str, str], count: int
) -> list[tuple[int, str, str]]:
    processes = [
        subprocess.Popen(  # noqa: S603
            ["bash", "-c", command],  # noqa: S607
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


def _run(command: str, env: dict[str, str]) -> None:
    result = subprocess.run(  # noqa: S603
        ["bash", "-c", command],  # noqa: S607
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"


def production_env(
    *, database_url: str, bucket: str, s3_endpoint: str, cache_prefix: str
) -> dict[str, str]:
    """What each service of the deploy gets: the same for every instance."""
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(Path.home()),
        "PYTHONUNBUFFERED": "1",
        "IS_PRODUCTION": "true",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database_url,
        "DATABASE_POOLER": "pgbouncer",
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": cache_prefix,
        "ALLOWED_HOSTS": HOST,
        "BASE_URL": f"https://{HOST}",
        "NUM_PROXIES": "1",
        # Caddy routes by health checks, a second apart: drain for three.
        "DRAIN_SECONDS": str(DRAIN_SECONDS),
        # One process of four threads per instance: three instances on two cores.
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "4",
        "USE_CLOUD_STORAGE": "true",
        "CLOUD_STORAGE_PROVIDER": "s3",
        "CLOUD_STORAGE_BUCKET": bucket,
        "CLOUD_STORAGE_ACCESS_KEY": S3_KEY,
        "CLOUD_STORAGE_SECRET_KEY": S3_SECRET,
        "CLOUD_STORAGE_ENDPOINT_URL": s3_endpoint,
        "CLOUD_STORAGE_REGION": S3_REGION,
        "TASKS_BACKEND": "database",
        # A day's window: the test's attempts never straddle a window's end
        # except at midnight, which the throttle test checks for.
        "THROTTLE_SIGNIN_ACCOUNT": f"{THROTTLE_SIGNIN_ACCOUNT_LIMIT}/day",
        # Every request comes from one address here; the per-account count is tested.
        "THROTTLE_SIGNIN_IP": "10000/day",
        "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD,
    }


@contextmanager
def cluster_running(
    *, directory: Path, bouncer: Bouncer, alias: str, bucket: str, s3_endpoint: str
) -> Iterator[Cluster]:
    cache_prefix = f"gh_scale_{secrets.token_hex(4)}"
    env = production_env(
        database_url=bouncer.url(alias),
        bucket=bucket,
        s3_endpoint=s3_endpoint,
        cache_prefix=cache_prefix,
    )
    # Two deploy steps at once, both through PgBouncer: the migrate lock decides.
    release = _run_together(procfile_line("release"), env, count=2)
    assert [code for code, _, _ in release] == [0, 0], release
    _run(f"python manage.py createsuperuser --no-input --email {ADMIN_EMAIL}", env)

    proxy_port, admin_port = free_port(), free_port()
    cluster = Cluster(
        env=env,
        directory=directory,
        proxy_port=proxy_port,
        admin_port=admin_port,
        bucket=bucket,
        s3_endpoint=s3_endpoint,
        release=release,
        slots=[free_port() for _ in range(INSTANCES + 1)],
    )
    with ExitStack() as stack:
        worker_log = (directory / "worker.log").open("w")
        stack.callback(worker_log.close)
        worker = subprocess.Popen(  # noqa: S603
            ["bash", "-c", f"exec {procfile_line('worker')}"],  # noqa: S607
            cwd=BASE_DIR,
            env=env,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
        )
        stack.callback(stop, worker)
        stack.callback(_stop_all, cluster)
        for _ in range(INSTANCES):
            cluster.instances.append(cluster.start_instance())

        caddy_log = (directory / "caddy.log").open("w")
        stack.callback(caddy_log.close)
        caddy = subprocess.Popen(  # noqa: S603
            ["caddy", "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],  # noqa: S607
            env={
                "PATH": env["PATH"],
                "HOME": str(directory),
                "XDG_CONFIG_HOME": str(directory / "caddy-config"),
                "XDG_DATA_HOME": str(directory / "caddy-data"),
                "CADDY_ADMIN": f"127.0.0.1:{admin_port}",
                "PROXY_PORT": str(proxy_port),
                "GATEHOUSE_UPSTREAMS": " ".join(
                    f"127.0.0.1:{slot}" for slot in cluster.slots
                ),
                "GATEHOUSE_HOST": HOST,
            },
            stdout=caddy_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        stack.callback(stop, caddy, group=True)
        wait_for_port(proxy_port, process=caddy)
        wait_for_port(admin_port, process=caddy)
        stack.callback(_redis_forget, cache_prefix)
        yield cluster
        assert worker.poll() is None, (directory / "worker.log").read_text()


def _stop_all(cluster: Cluster) -> None:
    for instance in cluster.started:
        stop(instance.process, group=True)


def _redis_forget(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
