"""Scale-out rehearsal: three instances behind a load balancer, one database through
PgBouncer's transaction pooling, one Redis, one bucket, the worker running.

The cluster (ops/tests/scale_out_cluster.py) is set up once for the module; each
test states one thing that must hold across instances.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus

import boto3
import psycopg
import pytest

from conftest import postgres_database
from core.tests.legs import sqlite_leg_only
from core.tests.served_app import BASE_DIR, multipart
from core.tests.storage_servers import S3_KEY, S3_REGION, S3_SECRET
from ops.tests.scale_out_cluster import (
    THROTTLE_SIGNIN_ACCOUNT_LIMIT,
    Bouncer,
    Cluster,
    cluster_running,
    pgbouncer,
    tools_present,
)
from resources.tests.files import png_bytes

pytest_plugins = ["core.tests.storage_servers"]
pytestmark = sqlite_leg_only

APP_POOL, PROBE_POOL = "gatehouse", "probe"
ZONE = "America/New_York"  # the database's default time zone


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    tools_present()
    with postgres_database("gh_scale") as url:
        # Not UTC, so a server connection that missed Django's SET TIME ZONE shows.
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(
                f"ALTER DATABASE {url.rsplit('/', 1)[1]} SET timezone TO {ZONE!r}"
            )
        yield url


@pytest.fixture(scope="module")
def bouncer(database) -> Iterator[Bouncer]:
    with pgbouncer(database, aliases=(APP_POOL, PROBE_POOL)) as running:
        yield running


@pytest.fixture(scope="module")
def bucket(moto_endpoint) -> str:
    name = f"gh-scale-{time.monotonic_ns() % 10**9}"
    _s3(moto_endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, bouncer, bucket, moto_endpoint) -> Iterator[Cluster]:
    with cluster_running(
        directory=tmp_path_factory.mktemp("scale-out"),
        bouncer=bouncer,
        alias=APP_POOL,
        bucket=bucket,
        s3_endpoint=moto_endpoint,
    ) as running:
        yield running


def _s3(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
        region_name=S3_REGION,
    )


def test_two_release_steps_at_once_through_pgbouncer_migrate_once(cluster, database):
    outputs = sorted(out for _, out, _ in cluster.release)

    assert outputs[0].startswith("Applied "), cluster.release
    assert outputs[1] == "No migrations to apply.", cluster.release
    with psycopg.connect(database) as db:
        repeated = db.execute(
            "SELECT app, name FROM django_migrations"
            " GROUP BY app, name HAVING count(*) > 1"
        ).fetchall()
        runs = db.execute(
            "SELECT count(*) FROM core_activitylog WHERE action = 'migrations.applied'"
        ).fetchone()[0]
    assert repeated == []
    assert runs == 1


def test_a_logout_on_one_instance_is_refused_on_the_others_at_once(cluster):
    first, *others = cluster.instances
    tokens = cluster.sign_in(first)
    for instance in others:
        before = cluster.via(
            instance, "GET", "/api/v1/auth/me/", bearer=tokens["access"]
        )
        assert before.status == HTTPStatus.OK, before.body

    logout = cluster.via(
        first,
        "POST",
        "/api/v1/auth/logout/",
        json_body={"refresh": tokens["refresh"]},
        bearer=tokens["access"],
    )

    assert logout.status == HTTPStatus.NO_CONTENT, logout.body
    for instance in others:
        me = cluster.via(instance, "GET", "/api/v1/auth/me/", bearer=tokens["access"])
        refresh = cluster.via(
            instance,
            "POST",
            "/api/v1/auth/refresh/",
            json_body={"refresh": tokens["refresh"]},
        )
        assert me.status == HTTPStatus.UNAUTHORIZED, me.body
        assert refresh.status == HTTPStatus.UNAUTHORIZED, refresh.body
        assert refresh.json()["code"] == "token_not_valid"


def test_sign_in_attempts_count_across_all_instances(cluster):
    for attempt in range(2):
        day = int(time.time() // 86400)
        statuses = []
        for number in range(THROTTLE_SIGNIN_ACCOUNT_LIMIT + 1):
            instance = cluster.instances[number % len(cluster.instances)]
            reply = cluster.via(
                instance,
                "POST",
                "/api/v1/auth/login/",
                json_body={"email": f"guess{attempt}@example.com", "password": "wrong"},
            )
            statuses.append(reply.status)
        if int(time.time() // 86400) == day:  # the day's window did not turn meanwhile
            break

    # Each instance saw two attempts; alone, none of them would refuse one.
    assert statuses == [HTTPStatus.UNAUTHORIZED] * THROTTLE_SIGNIN_ACCOUNT_LIMIT + [
        HTTPStatus.TOO_MANY_REQUESTS
    ]


def test_an_upload_through_one_instance_is_served_by_the_others(cluster):
    uploader, *others = cluster.instances
    bearer = cluster.sign_in(uploader)["access"]
    resource = cluster.via(
        uploader,
        "POST",
        "/api/v1/resources/",
        json_body={"title": "Shared"},
        bearer=bearer,
    ).json()
    body, content_type = multipart("file", "photo.png", png_bytes(8, 8))

    uploaded = cluster.via(
        uploader,
        "POST",
        f"/api/v1/resources/{resource['id']}/upload/",
        body=body,
        headers={"Content-Type": content_type},
        bearer=bearer,
    )

    assert uploaded.status == HTTPStatus.CREATED, uploaded.body
    for instance in others:
        seen = cluster.via(
            instance, "GET", f"/api/v1/resources/{resource['id']}/", bearer=bearer
        ).json()
        [file] = seen["files"]
        with urllib.request.urlopen(file["url"], timeout=10) as fetched:  # noqa: S310
            assert fetched.read() == png_bytes(8, 8)


def test_a_file_deleted_through_one_instance_is_removed_by_the_worker(cluster):
    first, second, _ = cluster.instances
    bearer = cluster.sign_in(first)["access"]
    resource = cluster.via(
        first, "POST", "/api/v1/resources/", json_body={"title": "Gone"}, bearer=bearer
    ).json()
    body, content_type = multipart("file", "photo.png", png_bytes(4, 4))
    file = cluster.via(
        first,
        "POST",
        f"/api/v1/resources/{resource['id']}/upload/",
        body=body,
        headers={"Content-Type": content_type},
        bearer=bearer,
    ).json()
    s3 = _s3(cluster.s3_endpoint)
    prefix = f"gatehouse-test/resources/{resource['id']}/"
    assert s3.list_objects_v2(Bucket=cluster.bucket, Prefix=prefix)["KeyCount"] == 1

    deleted = cluster.via(
        second,
        "DELETE",
        f"/api/v1/resources/{resource['id']}/files/{file['id']}/",
        bearer=bearer,
    )

    assert deleted.status == HTTPStatus.NO_CONTENT, deleted.body
    deadline = time.monotonic() + 30  # the worker polls every second
    while s3.list_objects_v2(Bucket=cluster.bucket, Prefix=prefix)["KeyCount"]:
        assert time.monotonic() < deadline, "the worker never removed the object"
        time.sleep(0.3)


# --- Rolling restart under load -----------------------------------------------------

LOAD_THREADS = 8
REQUESTS_PER_THREAD_PER_SECOND = 5  # 40 a second in all


@dataclass
class Load:
    """Steady traffic through the balancer: a create, a read of what was created
    (most likely from another instance), a list and the session user, in turn."""

    cluster: Cluster
    bearer: str
    answers: list[tuple[str, object]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self, number: int) -> None:
        interval = 1 / REQUESTS_PER_THREAD_PER_SECOND
        next_at = time.monotonic()
        last_id = None
        step = 0
        while not self.stopping.is_set():
            kind = ["create", "read", "list", "me"][step % 4]
            if kind == "read" and last_id is None:
                kind = "list"
            try:
                reply = self._request(kind, number, step, last_id)
            except OSError as error:
                self.answers.append((kind, repr(error)))
            else:
                self.answers.append((kind, reply.status))
                if kind == "create" and reply.status == HTTPStatus.CREATED:
                    last_id = reply.json()["id"]
                    self.created.append(last_id)
            step += 1
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    def _request(self, kind: str, number: int, step: int, last_id: str | None):
        path = {
            "create": "/api/v1/resources/",
            "read": f"/api/v1/resources/{last_id}/",
            "list": "/api/v1/resources/?page_size=5",
            "me": "/api/v1/auth/me/",
        }[kind]
        if kind == "create":
            return self.cluster.via_proxy(
                "POST",
                path,
                json_body={"title": f"load {number}-{step}"},
                bearer=self.bearer,
            )
        return self.cluster.via_proxy("GET", path, bearer=self.bearer)

    def failures(self) -> list[tuple[str, object]]:
        expected = {"create": HTTPStatus.CREATED}
        return [
            (kind, answer)
            for kind, answer in self.answers
            if answer != expected.get(kind, HTTPStatus.OK)
        ]


def test_a_rolling_restart_under_load_loses_no_request_and_no_write(cluster, database):
    load = Load(cluster=cluster, bearer=cluster.sign_in()["access"])
    threads = [
        threading.Thread(target=load.run, args=(number,), daemon=True)
        for number in range(LOAD_THREADS)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(2)

    # One instance at a time: a new one starts on the spare slot, passes its health
    # check and gets traffic; the old one gets SIGTERM, fails its health check while
    # it drains, and exits once it has answered what it had.
    exit_codes = []
    for old in list(cluster.instances):
        new = cluster.start_instance()
        cluster.serves_traffic(new)
        exit_codes.append(cluster.stop_instance(old))
        cluster.instances.append(new)

    time.sleep(2)  # and the new ones alone carry the load
    load.stopping.set()
    for thread in threads:
        thread.join(timeout=30)
    seconds = time.monotonic() - started

    with psycopg.connect(database) as db:
        stored = {
            row[0]
            for row in db.execute("SELECT id::text FROM resources_resource").fetchall()
        }
    lost_writes = [created for created in load.created if created not in stored]
    print(  # noqa: T201 - docs/operators.md's "Reliability" figure (pytest -s shows it)
        f"rolling restart of 3 instances: {len(load.answers)} requests in "
        f"{seconds:.0f} s ({len(load.answers) / seconds:.0f}/s), "
        f"{len(load.failures())} failed; {len(load.created)} creates acknowledged, "
        f"{len(lost_writes)} missing"
    )
    assert exit_codes == [0, 0, 0]
    assert load.failures() == []
    assert len(load.created) > 100
    assert lost_writes == []
    # The balancer spread the load over the new instances too.
    assert all("POST /api/v1/resources/ 201" in i.output() for i in cluster.instances)


def test_a_write_sent_to_a_crashed_instance_is_answered_by_another(cluster):
    bearer = cluster.sign_in()["access"]
    crashed = cluster.instances[0]
    # Health checks a minute apart: the balancer cannot know of the crash yet.
    cluster.reload_balancer(health_interval="1m")
    cluster.crash(crashed)  # no drain: its port refuses connections from now on
    cluster.instances.remove(crashed)
    # What was in flight on it is lost, as is a request the balancer writes on one
    # of its kept-alive connections in the instant before it sees them closed.
    time.sleep(0.5)

    # Round robin: of three in a row, one goes to the crashed instance, is refused,
    # and is sent to another within lb_try_duration. Caddy closes the body of a
    # request it could not send (502 "invalid Read on closed Body" on the retry)
    # unless it buffered it: buffer_requests.
    created = [
        cluster.via_proxy(
            "POST",
            "/api/v1/resources/",
            json_body={"title": f"after the crash {number}"},
            bearer=bearer,
        ).status
        for number in range(3)
    ]

    assert created == [HTTPStatus.CREATED] * 3
    cluster.instances.append(cluster.start_instance())
    cluster.reload_balancer()


# --- Transaction pooling --------------------------------------------------------------

# Two threads, two connections to one PgBouncer pool: the first starts a chunked
# read; the second holds the server connection the read was declared on, in a
# transaction, while the first fetches its next chunk.
INTERLEAVED_READ = """
import threading
from django.db import connection, transaction
from accounts.models import User

for n in range(3):
    User.objects.get_or_create(email=f"reader{n}@example.com")
declared, held, done = threading.Event(), threading.Event(), threading.Event()

def hold():
    declared.wait()
    with transaction.atomic():
        User.objects.count()
        held.set()
        done.wait(10)
    connection.close()

holder = threading.Thread(target=hold)
holder.start()
try:
    rows = User.objects.order_by("pk").iterator(chunk_size=1)
    next(rows)
    declared.set()
    held.wait(10)
    read = 1 + sum(1 for _ in rows)
finally:
    done.set()
    holder.join()
print(f"read {read} of {User.objects.count()} rows")
"""


@pytest.mark.parametrize(
    ("pooler", "read_whole"),
    [("pgbouncer", True), ("", False)],
    ids=["DATABASE_POOLER=pgbouncer", "unset"],
)
def test_chunked_reads_under_transaction_pooling_need_database_pooler(
    cluster, bouncer, pooler, read_whole
):
    env = {
        **cluster.env,
        "DATABASE_URL": bouncer.url(PROBE_POOL),
        "DATABASE_POOLER": pooler,
    }

    output = _manage_shell(INTERLEAVED_READ, env)

    if read_whole:
        counts = re.search(r"read (\d+) of (\d+) rows", output)
        assert counts, output
        assert counts[1] == counts[2]
    else:  # the cursor stayed on the server connection the other thread holds
        assert re.search(r'cursor "[^"]+" does not exist', output), output


# The lock is taken and released while another client holds, in a transaction, the
# server connection the lock statement ran on.
LOCK_AMID_TRAFFIC = """
import threading
from django.db import connection, transaction
from ops.migrations_service import migration_lock

taken, held, done = threading.Event(), threading.Event(), threading.Event()

def busy():
    taken.wait()
    with transaction.atomic():
        connection.cursor().execute("SELECT 1")
        held.set()
        done.wait(10)
    connection.close()

other = threading.Thread(target=busy)
other.start()
with migration_lock():
    taken.set()
    held.wait(10)
done.set()
other.join()
print("released")
"""


def test_the_migrate_lock_is_released_through_transaction_pooling(
    cluster, bouncer, database
):
    env = {**cluster.env, "DATABASE_URL": bouncer.url(PROBE_POOL)}

    output = _manage_shell(LOCK_AMID_TRAFFIC, env)

    assert "released" in output, output
    with psycopg.connect(database) as db:
        # A lock left on a pooled server connection would block every later deploy.
        held = db.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
            " AND database = (SELECT oid FROM pg_database WHERE datname ="
            " current_database())"
        ).fetchone()[0]
    assert held == 0


# Three threads, each with its own connection, in many short transactions: fewer
# server connections than that, so each transaction may land on another one.
ZONES_SEEN = """
import threading
from django.db import connection, transaction

seen = set()

def work():
    for _ in range(20):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('TimeZone'), now()")
            zone, now = cursor.fetchone()
            seen.add((zone, now.utcoffset().total_seconds()))
    connection.close()

threads = [threading.Thread(target=work) for _ in range(3)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("seen", sorted(seen))
"""


def test_every_transaction_through_pgbouncer_runs_in_utc(cluster, bouncer):
    env = {**cluster.env, "DATABASE_URL": bouncer.url(PROBE_POOL)}
    with psycopg.connect(bouncer.url(PROBE_POOL)) as plain:
        server_default = plain.execute("SHOW TimeZone").fetchone()[0]

    output = _manage_shell(ZONES_SEEN, env)

    # Django sets UTC once per connection; PgBouncer carries it to whichever server
    # connection serves the transaction (core/postgresql's timestamp loader counts on it).
    assert server_default == ZONE
    assert "seen [('UTC', 0.0)]" in output, output


def _manage_shell(script: str, env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", script],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout + done.stderr
