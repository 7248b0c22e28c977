"""Schema migrations for hosts without a shell: list them, apply them, one run at a time.

Two runs at once never apply a migration twice: "compute the plan, then apply it"
happens under a lock that every process shares. On PostgreSQL that is a
transaction-level advisory lock, held by a connection of its own for the whole run
(so it holds through PgBouncer's transaction pooling too); elsewhere (SQLite) an
exclusive flock on a file next to the database.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, cast

import psycopg
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.loader import MigrationLoader

from core.audit import Action, record_activity

fcntl: ModuleType | None
try:
    fcntl = importlib.import_module("fcntl")
except ImportError:  # Windows: no flock; a lock within the process is all there is
    fcntl = None

if TYPE_CHECKING:
    from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper

    from accounts.models import User

# Any fixed 64-bit number works, as long as every process uses the same one.
ADVISORY_LOCK_KEY = 0x6761_7465_6D69_6772  # "gatemigr"
_process_lock = threading.Lock()


@dataclass(frozen=True)
class MigrationStatus:
    applied: list[str]
    pending: list[str]


def migrations_status(*, using: str = DEFAULT_DB_ALIAS) -> MigrationStatus:
    """Every migration as "app_label.name", in plan order, split into applied and pending."""
    loader = MigrationLoader(connections[using], ignore_no_migrations=True)
    applied: list[str] = []
    pending: list[str] = []
    for key in _full_plan(loader):
        label = f"{key[0]}.{key[1]}"
        (applied if key in loader.applied_migrations else pending).append(label)
    return MigrationStatus(applied=applied, pending=pending)


def _full_plan(loader: MigrationLoader) -> list[tuple[str, str]]:
    """The order `migrate` runs migrations in (as `showmigrations --plan` shows)."""
    plan: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for leaf in loader.graph.leaf_nodes():
        for key in loader.graph.forwards_plan(leaf):
            if key not in seen:
                seen.add(key)
                plan.append(key)
    return plan


def migrations_apply(
    *, applied_by: User | None = None, using: str = DEFAULT_DB_ALIAS
) -> list[str]:
    """Applies the pending migrations under the migration lock; returns those it ran."""
    with migration_lock(using=using):
        # Computed only once the lock is held: a run that waited finds nothing left.
        pending = migrations_status(using=using).pending
        if pending:
            migrate_quietly(using=using)
    if pending:
        migrations_applied_record(applied_by=applied_by, migrations=pending)
    return pending


def migrate_quietly(*, using: str) -> None:
    """Runs `migrate` on one database (post-migrate steps included), printing nothing."""
    call_command(
        "migrate", database=using, interactive=False, verbosity=0, stdout=io.StringIO()
    )


def migrations_applied_record(
    *, applied_by: User | None, migrations: list[str]
) -> None:
    """Records who applied which migrations in the activity log."""
    record_activity(
        action=Action.MIGRATIONS_APPLIED,
        actor=applied_by,
        metadata={"migrations": migrations},
    )


@contextmanager
def migration_lock(*, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Holds the lock that lets one migration run at a time, across processes."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        with _advisory_lock(connection):
            yield
    else:
        with _file_lock(migration_lock_path(connection)):
            yield


@contextmanager
def _advisory_lock(connection: BaseDatabaseWrapper) -> Iterator[None]:
    # Not a session lock on `connection`: behind a transaction-pooling PgBouncer it
    # stays with whichever server connection took it, so a client served next by
    # that connection holds it too, and the unlock may reach another one and leave
    # it held. An open transaction keeps its server connection: a connection of its
    # own holds an xact lock in one for the run; closing it (or the process dying)
    # ends both.
    holder = psycopg.connect(**connection.get_connection_params())
    try:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        yield
    finally:
        holder.close()


def migration_lock_path(connection: BaseDatabaseWrapper) -> Path:
    """The lock file: beside a SQLite file, else in the temp folder."""
    settings = connection.settings_dict
    name = str(settings["NAME"])
    # cast: the "sqlite" vendor is Django's SQLite backend.
    if (
        connection.vendor == "sqlite"
        and not cast("SQLiteWrapper", connection).is_in_memory_db()
    ):
        database = Path(name)
        return database.with_name(f"{database.name}.migrate.lock")
    # In-memory databases (the tests') and servers without advisory locks.
    where = f"{connection.vendor}:{settings['HOST']}:{settings['PORT']}:{name}"
    digest = hashlib.sha256(where.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"gatehouse-migrate-{digest}.lock"


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    if fcntl is None:
        with _process_lock:
            yield
        return
    # Each call opens its own file description, so threads contend as processes do.
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
