"""GET/POST /api/v1/migrate/: admins list and apply migrations, one run at a time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse

from accounts.sessions import session_start
from core.models import ActivityLog
from core.tests.live_http import exchange_json
from ops.database_copy import databases_registered
from ops.migrations_service import (
    migration_lock,
    migration_lock_path,
    migrations_apply,
)

URL = reverse("v1:migrate:migrations")
# resources' tables are dropped and recreated; nothing on these paths reads them.
ROLLED_BACK_APP = "resources"
needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the live server shares one connection on SQLite; PostgreSQL serves many",
)


@pytest.fixture
def rolled_back(transactional_db) -> Iterator[list[str]]:
    """Unapplies every migration of one app; returns what is pending afterwards."""
    call_command("migrate", ROLLED_BACK_APP, "zero", verbosity=0)
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    yield [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
    call_command("migrate", verbosity=0)  # the flush after the test needs every table


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_caller_is_not_authenticated(api_client, db, method):
    response = getattr(api_client, method)(URL)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("method", ["get", "post"])
def test_approved_non_admin_is_denied(auth_client, approved_user, method):
    client = auth_client(approved_user)

    response = getattr(client, method)(URL)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "permission_denied"


def test_status_lists_every_migration_applied_and_none_pending(auth_client, admin_user):
    client = auth_client(admin_user)

    response = client.get(URL)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    loader = MigrationLoader(connection)
    assert len(body["applied"]) == len(loader.graph.nodes)
    assert body["applied"].index("accounts.0001_initial") < body["applied"].index(
        "accounts.0002_admins_group_and_site"
    )
    assert body["pending"] == []


def test_status_without_trailing_slash_is_answered_the_same(auth_client, admin_user):
    client = auth_client(admin_user)

    response = client.get(URL.rstrip("/"))

    assert response.status_code == HTTPStatus.OK
    assert response.json()["pending"] == []


@pytest.mark.django_db(transaction=True)
def test_status_lists_a_rolled_back_migration_as_pending(
    rolled_back, auth_client, admin_user
):
    client = auth_client(admin_user)

    response = client.get(URL)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert f"{ROLLED_BACK_APP}.0001_initial" in body["pending"]
    assert body["pending"] == rolled_back
    assert not set(body["pending"]) & set(body["applied"])


@pytest.mark.django_db(transaction=True)
def test_apply_runs_the_pending_migrations(rolled_back, auth_client, admin_user):
    client = auth_client(admin_user)

    response = client.post(URL)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"applied_now": rolled_back}
    assert client.get(URL).json()["pending"] == []
    assert f"{ROLLED_BACK_APP}_resource" in connection.introspection.table_names()


@pytest.mark.django_db(transaction=True)
def test_applying_is_recorded_in_the_activity_log(rolled_back, auth_client, admin_user):
    auth_client(admin_user).post(URL)

    entry = ActivityLog.objects.get(action=ActivityLog.Action.MIGRATIONS_APPLIED)
    assert (entry.actor, entry.metadata) == (admin_user, {"migrations": rolled_back})


@pytest.mark.django_db(transaction=True)
def test_a_second_apply_applies_nothing(rolled_back, auth_client, admin_user):
    client = auth_client(admin_user)
    client.post(URL)

    response = client.post(URL)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"applied_now": []}


@pytest.mark.django_db(transaction=True)
def test_a_second_holder_of_the_migration_lock_waits_for_the_first():
    acquired = threading.Event()

    def second_run() -> None:
        try:
            with migration_lock():
                acquired.set()
        finally:
            connections.close_all()

    waiter = threading.Thread(target=second_run)
    with migration_lock():
        waiter.start()
        waited = not acquired.wait(timeout=0.5)

    waiter.join(timeout=10)
    assert waited
    assert acquired.is_set()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_applies_run_each_migration_once(rolled_back):
    barrier = threading.Barrier(2)
    results: list[list[str]] = []

    def apply() -> None:
        try:
            barrier.wait()
            results.append(migrations_apply())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=apply) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results, key=len) == [[], rolled_back]


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_posts_apply_each_migration_once(
    rolled_back, live_server, admin_user, rf
):
    bearer = session_start(user=admin_user, request=rf.post("/"))["access"]
    barrier = threading.Barrier(2)
    answers: list[tuple[int, dict]] = []

    def post() -> None:
        barrier.wait()
        answers.append(exchange_json("POST", f"{live_server.url}{URL}", bearer=bearer))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [status for status, _ in answers] == [HTTPStatus.OK, HTTPStatus.OK]
    applied = sorted((body["applied_now"] for _, body in answers), key=len)
    assert applied == [[], rolled_back]


def test_the_lock_file_of_a_sqlite_database_sits_beside_it(tmp_path):
    database = tmp_path / "db.sqlite3"

    with databases_registered(lock_check=f"sqlite:///{database}"):
        path = migration_lock_path(connections["lock_check"])

    assert path == tmp_path / "db.sqlite3.migrate.lock"
