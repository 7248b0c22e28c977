"""Backups: a consistent database dump plus every stored file, and their restore.

A backup is one folder named gatehouse-<UTC time>, in a local folder or in the
configured storage under <STORAGE_PREFIX>/backups/:

    database.dump        pg_dump's custom format (PostgreSQL), or
    database.sqlite3     a copy made by SQLite's online backup API
    files/<name>         every stored file a row points at, under its storage name
    manifest.json        written last: a folder without it is incomplete

The manifest holds the dump's and each file's size and SHA-256, and every table's
row count. Row counts and file names are read from the snapshot the dump was taken
from (on PostgreSQL a snapshot exported to pg_dump, on SQLite the copy itself), so
the files are those the dumped rows point at.

The files are copied for cloud storage too: deleting a row removes its object, so
a database restored from last night points at files removed since, which only
the backup still holds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, cast

from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.postgresql.client import DatabaseClient
from django.utils import timezone

from ops.counts import counted
from ops.database_copy import SEEDED_BY_MIGRATE

if TYPE_CHECKING:
    from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper

FORMAT = 1
MANIFEST = "manifest.json"
FILES = "files"
DUMPS = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
BACKUP_NAME = re.compile(r"gatehouse-\d{8}T\d{6}\.\d{6}Z")
CHUNK = 1024 * 1024
# A restore target holding rows only in these tables is empty: `migrate` fills them.
MIGRATE_TABLES = {"django_migrations"} | {
    apps.get_model(label)._meta.db_table for label in SEEDED_BY_MIGRATE
}


class BackupError(Exception):
    """The backup or restore cannot go ahead, or went wrong (the message says which)."""


@dataclass(frozen=True)
class Stored:
    size: int
    sha256: str


@dataclass(frozen=True)
class BackupResult:
    name: str
    tables: dict[str, int]
    files: int
    files_bytes: int
    missing: list[str]  # names rows point at that storage did not have
    removed: list[str]  # older backups removed by retention


@dataclass(frozen=True)
class RestoreResult:
    tables: dict[str, int]
    files_written: int
    files_present: int  # already in storage with the backed-up checksum


class Place(Protocol):
    """Where backups are kept: paths are <backup name>/<path inside the backup>."""

    def describe(self, path: str) -> str: ...
    def names(self) -> list[str]: ...
    def exists(self, path: str) -> bool: ...
    def write(self, path: str, source: IO[bytes]) -> Stored: ...
    def open(self, path: str) -> IO[bytes]: ...
    def remove(self, name: str) -> None: ...


class FolderPlace:
    """Backups in a local folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self, path: str) -> str:
        return str(self.root / path)

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return [p.name for p in self.root.iterdir() if BACKUP_NAME.fullmatch(p.name)]

    def exists(self, path: str) -> bool:
        return (self.root / path).is_file()

    def write(self, path: str, source: IO[bytes]) -> Stored:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            return _copy(source, out)

    def open(self, path: str) -> IO[bytes]:
        return (self.root / path).open("rb")

    def remove(self, name: str) -> None:
        shutil.rmtree(self.root / name, ignore_errors=True)


class StoragePlace:
    """Backups in a Django storage (the configured one: cloud or MEDIA_ROOT)."""

    def __init__(self, storage: Storage, prefix: str) -> None:
        self.storage, self.prefix = storage, prefix

    def describe(self, path: str) -> str:
        return f"storage:{self.prefix}/{path}"

    def names(self) -> list[str]:
        try:
            folders, _ = self.storage.listdir(self.prefix)
        except FileNotFoundError:
            return []
        return [name for name in folders if BACKUP_NAME.fullmatch(name)]

    def exists(self, path: str) -> bool:
        return self.storage.exists(f"{self.prefix}/{path}")

    def write(self, path: str, source: IO[bytes]) -> Stored:
        key = f"{self.prefix}/{path}"
        with tempfile.SpooledTemporaryFile(max_size=8 * CHUNK) as spool:
            stored = _copy(source, spool)
            spool.seek(0)
            saved = self.storage.save(key, File(spool, name=key))
        if saved != key:
            raise BackupError(f"The storage saved {key} as {saved}.")
        return stored

    def open(self, path: str) -> IO[bytes]:
        return self.storage.open(f"{self.prefix}/{path}", "rb")

    def remove(self, name: str) -> None:
        for key in _stored_keys(self.storage, f"{self.prefix}/{name}"):
            self.storage.delete(key)
        try:
            folder = self.storage.path(f"{self.prefix}/{name}")
        except NotImplementedError:  # cloud storage: no folders to leave behind
            return
        shutil.rmtree(folder, ignore_errors=True)


def storage_place() -> StoragePlace:
    return StoragePlace(default_storage, f"{settings.STORAGE_PREFIX}/backups")


def backup_create(
    *,
    place: Place,
    keep: int | None = None,
    log: Callable[[str], Any] = lambda message: None,
) -> BackupResult:
    """Writes a timestamped backup of the database and stored files, then prunes."""
    if keep is not None and keep < 1:
        raise BackupError("--keep must be at least 1.")
    vendor = _vendor()
    name = timezone.now().strftime("gatehouse-%Y%m%dT%H%M%S.%fZ")
    if name in place.names():
        raise BackupError(f"A backup named {name} already exists.")
    try:
        result = _backup_write(place=place, name=name, vendor=vendor, log=log)
    except BaseException:
        with suppress(Exception):  # the original error matters more
            place.remove(name)
        raise
    removed = backups_prune(place=place, keep=keep) if keep is not None else []
    return dataclasses.replace(result, removed=removed)


def _backup_write(
    *, place: Place, name: str, vendor: str, log: Callable[[str], Any]
) -> BackupResult:
    dump_name = DUMPS[vendor]
    with tempfile.TemporaryDirectory() as work:
        dump = Path(work) / dump_name
        log(f"Dumping the {vendor} database...")
        tables, file_names = _dump(vendor, dump)
        with dump.open("rb") as source:
            database = place.write(f"{name}/{dump_name}", source)
    log(f"Copying {counted(len(file_names), 'stored file')}...")
    files: list[dict[str, Any]] = []
    missing: list[str] = []
    for file_name in file_names:
        try:
            with default_storage.open(file_name, "rb") as source:
                stored = place.write(f"{name}/{FILES}/{file_name}", source)
        except FileNotFoundError:
            missing.append(file_name)
            continue
        files.append({"name": file_name, "size": stored.size, "sha256": stored.sha256})
    manifest = {
        "format": FORMAT,
        "created_at": timezone.now().isoformat(),
        "database": {
            "vendor": vendor,
            "name": dump_name,
            "size": database.size,
            "sha256": database.sha256,
            "tables": tables,
        },
        "files": files,
        "missing_files": missing,
    }
    place.write(
        f"{name}/{MANIFEST}", io.BytesIO(json.dumps(manifest, indent=1).encode())
    )
    return BackupResult(
        name=name,
        tables=tables,
        files=len(files),
        files_bytes=sum(entry["size"] for entry in files),
        missing=missing,
        removed=[],
    )


def backups_prune(*, place: Place, keep: int) -> list[str]:
    """Removes every backup older than the newest `keep` complete ones."""
    names = sorted(place.names())
    complete = [name for name in names if place.exists(f"{name}/{MANIFEST}")]
    if len(complete) <= keep:
        return []
    oldest_kept = complete[-keep]
    removed = [name for name in names if name < oldest_kept]
    for name in removed:
        place.remove(name)
    return removed


def backup_latest(*, place: Place) -> str:
    complete = [n for n in sorted(place.names()) if place.exists(f"{n}/{MANIFEST}")]
    if not complete:
        raise BackupError(f"No complete backup in {place.describe('')}.")
    return complete[-1]


def backup_restore(
    *,
    place: Place,
    name: str,
    replace: bool = False,
    log: Callable[[str], Any] = lambda message: None,
) -> RestoreResult:
    """Restores a backup's database and files, each checked against its checksum."""
    manifest = _manifest_read(place, name)
    database, files = manifest["database"], manifest["files"]
    vendor = _vendor()
    if database["vendor"] != vendor:
        raise BackupError(
            f"The backup holds a {database['vendor']} database; this one is {vendor}. "
            "Restore it into a database of its kind, then move the rows with "
            "copy_database."
        )
    with tempfile.TemporaryDirectory() as work:
        dump = Path(work) / DUMPS[vendor]
        log("Checking the backup against its manifest...")
        path = f"{name}/{database['name']}"
        with _backup_file(place, path) as source, dump.open("wb") as out:
            _expect(_copy(source, out), database, place.describe(path))
        for entry in files:
            path = f"{name}/{FILES}/{entry['name']}"
            with _backup_file(place, path) as source:
                _expect(_digest(source), entry, place.describe(path))
        if not replace:
            _ensure_database_empty()
        present = _files_present(files, replace=replace)
        restoring = counted(len(files) - len(present), "file")
        log(f"Restoring {restoring} ({len(present)} present)...")
        for entry in files:
            if entry["name"] not in present:
                _file_restore(place, name, entry)
        log("Restoring the database...")
        _load(vendor, dump)
    restored = _row_counts(list(database["tables"]))
    if restored != database["tables"]:
        differing = [
            f"{table}: {counted(restored.get(table) or 0, 'row')}, backup {count}"
            for table, count in database["tables"].items()
            if restored.get(table) != count
        ]
        raise BackupError(
            f"Row counts differ after the restore: {', '.join(differing)}"
        )
    return RestoreResult(
        tables=restored,
        files_written=len(files) - len(present),
        files_present=len(present),
    )


@contextmanager
def _backup_file(place: Place, path: str) -> Iterator[IO[bytes]]:
    try:
        source = place.open(path)
    except FileNotFoundError:
        raise BackupError(
            f"{place.describe(path)} is missing from the backup. Nothing was restored."
        ) from None
    with source:
        yield source


def _vendor() -> str:
    vendor = connections[DEFAULT_DB_ALIAS].vendor
    if vendor not in DUMPS:
        raise BackupError(f"Backups support PostgreSQL and SQLite, not {vendor}.")
    return vendor


def _copy(source: IO[bytes], target: IO[bytes]) -> Stored:
    digest, size = hashlib.sha256(), 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        target.write(chunk)
    return Stored(size=size, sha256=digest.hexdigest())


def _digest(source: IO[bytes]) -> Stored:
    digest, size = hashlib.sha256(), 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return Stored(size=size, sha256=digest.hexdigest())


def _expect(
    stored: Stored,
    entry: dict[str, Any],
    where: str,
    *,
    meaning: str = "the backup is damaged. Nothing was restored.",
) -> None:
    if stored != Stored(size=entry["size"], sha256=entry["sha256"]):
        raise BackupError(
            f"{where} does not match the manifest (SHA-256 {stored.sha256}, "
            f"{stored.size} bytes; expected {entry['sha256']}, {entry['size']} bytes): "
            f"{meaning}"
        )


def _safe_name(name: Any) -> str:
    parts = name.split("/") if isinstance(name, str) else []
    if not parts or "\\" in name or any(p in {"", ".", ".."} for p in parts):
        raise BackupError(f"The manifest lists an unsafe file name: {name!r}.")
    return name


def _manifest_read(place: Place, name: str) -> dict[str, Any]:
    if not BACKUP_NAME.fullmatch(name):
        raise BackupError(f"{name!r} is not a backup name (gatehouse-<time>).")
    if not place.exists(f"{name}/{MANIFEST}"):
        raise BackupError(
            f"{place.describe(name)} has no {MANIFEST}: it is not a backup, or it "
            "is incomplete (the backup that wrote it failed or is still running)."
        )
    with place.open(f"{name}/{MANIFEST}") as source:
        try:
            manifest = json.load(source)
        except ValueError as error:
            raise BackupError(f"{MANIFEST} is not valid JSON: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{MANIFEST} is not a Gatehouse backup manifest (format 1).")
    if not _manifest_complete(manifest):
        raise BackupError(f"{MANIFEST} is incomplete or malformed.")
    return manifest


def _manifest_complete(manifest: dict[str, Any]) -> bool:
    try:
        database, files = manifest["database"], manifest["files"]
        return (
            database["name"] in DUMPS.values()
            and database["vendor"] in DUMPS
            and all(isinstance(count, int) for count in database["tables"].values())
            and all(
                isinstance(entry["size"], int) and isinstance(entry["sha256"], str)
                for entry in [database, *files]
            )
            and all(_safe_name(entry["name"]) for entry in files)
        )
    except (KeyError, TypeError, AttributeError):
        return False


# --- The database: dump, read the snapshot, load --------------------------------


def _file_columns() -> list[tuple[str, str]]:
    """Every (table, column) holding stored file names."""
    return sorted(
        {
            (model._meta.db_table, field.column)
            for model in apps.get_models()
            for field in model._meta.local_concrete_fields
            if isinstance(field, models.FileField) and field.column
        }
    )


def _snapshot_read(cursor: Any, tables: list[str]) -> tuple[dict[str, int], list[str]]:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    counts = {}
    for table in sorted(tables):
        cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")  # noqa: S608 (quoted)
        counts[table] = cursor.fetchone()[0]
    names: set[str] = set()
    for table, column in _file_columns():
        if table not in counts:
            continue
        cursor.execute(
            f"SELECT DISTINCT {quote(column)} FROM {quote(table)} "  # noqa: S608
            f"WHERE {quote(column)} IS NOT NULL AND {quote(column)} <> ''"
        )
        names.update(_safe_name(row[0]) for row in cursor.fetchall())
    return counts, sorted(names)


def _dump(vendor: str, target: Path) -> tuple[dict[str, int], list[str]]:
    if vendor == "sqlite":
        with _sqlite_source() as source, closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
            cursor = copy.cursor()
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            )
            return _snapshot_read(cursor, [row[0] for row in cursor.fetchall()])
    with _exported_snapshot() as (snapshot, cursor):
        _run(
            [
                _binary("pg_dump"),
                "--format=custom",
                f"--snapshot={snapshot}",
                f"--file={target}",
            ]
        )
        cursor.execute(
            "SELECT c.relname FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND pg_catalog.pg_table_is_visible(c.oid) "
            "AND n.nspname NOT IN ('pg_catalog', 'pg_toast', 'information_schema')"
        )
        return _snapshot_read(cursor, [row[0] for row in cursor.fetchall()])


@contextmanager
def _sqlite_source() -> Iterator[sqlite3.Connection]:
    connection = cast("SQLiteWrapper", connections[DEFAULT_DB_ALIAS])
    if not connection.is_in_memory_db():
        name = Path(connection.settings_dict["NAME"])
        if not name.is_file():  # connecting would create an empty one
            raise BackupError(f"The database file {name} does not exist.")
        # Its own connection: one that holds a write transaction would wait on
        # itself for ever. Another's write only delays the copy until it commits.
        with closing(sqlite3.connect(name)) as own:
            yield own
        return
    if connection.in_atomic_block:
        raise BackupError(
            "An in-memory SQLite database is copied outside a transaction."
        )
    connection.ensure_connection()
    yield connection.connection


@contextmanager
def _exported_snapshot() -> Iterator[tuple[str, Any]]:
    """A read-only transaction on a connection of its own, and its snapshot's id."""
    # Its own connection: the default one may be inside a transaction already.
    connection = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with connection.cursor() as cursor:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            yield cursor.fetchone()[0], cursor
            cursor.execute("ROLLBACK")
    finally:
        connection.close()


def _load(vendor: str, dump: Path) -> None:
    connection = connections[DEFAULT_DB_ALIAS]
    if vendor == "sqlite":
        connection.ensure_connection()
        with closing(sqlite3.connect(dump)) as source:
            source.backup(connection.connection)
        return
    if not connection.in_atomic_block:
        connection.close()  # holds no lock then, but nothing should linger either
    _run(
        [
            _binary("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={connection.settings_dict['NAME']}",
            str(dump),
        ]
    )


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed (Debian: apt-get install postgresql-client)."
        )
    return found


def _run(command: list[str]) -> None:
    """Runs a PostgreSQL client with the connection in its environment, not its args."""
    settings_dict = connections[DEFAULT_DB_ALIAS].settings_dict
    _, client_env = DatabaseClient.settings_to_cmd_args_env(settings_dict, [])
    env = {**os.environ, **(client_env or {})}  # PGPASSWORD, PGSSLMODE, ...
    for variable, key in [
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGDATABASE", "NAME"),
    ]:
        if value := settings_dict.get(key):
            env[variable] = str(value)
    result = subprocess.run(  # noqa: S603 (a client found on PATH, fixed arguments)
        command, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        tool = Path(command[0]).name
        raise BackupError(f"{tool} failed: {result.stderr.strip()}")


def _row_counts(tables: list[str]) -> dict[str, int]:
    connection = connections[DEFAULT_DB_ALIAS]
    existing = set(connection.introspection.table_names())
    counts = {}
    with connection.cursor() as cursor:
        for table in tables:
            if table in existing:
                quoted = connection.ops.quote_name(table)
                cursor.execute(f"SELECT COUNT(*) FROM {quoted}")  # noqa: S608
                counts[table] = cursor.fetchone()[0]
    return counts


def _ensure_database_empty() -> None:
    connection = connections[DEFAULT_DB_ALIAS]
    tables = [
        table
        for table in connection.introspection.table_names()
        if table not in MIGRATE_TABLES
    ]
    holding = {table: n for table, n in _row_counts(tables).items() if n}
    if holding:
        shown = ", ".join(
            f"{table} ({counted(n, 'row')})" for table, n in sorted(holding.items())
        )
        raise BackupError(
            f"The database already holds data: {shown}. Nothing was restored. "
            "Restore into an empty database, or pass --replace to overwrite it."
        )


# --- Stored files ------------------------------------------------------------


def _files_present(files: list[dict[str, Any]], *, replace: bool) -> set[str]:
    """Names already stored with the backed-up content; refuses other content."""
    present, different = set(), []
    for entry in files:
        if not default_storage.exists(entry["name"]):
            continue
        with default_storage.open(entry["name"], "rb") as source:
            stored = _digest(source)
        if stored == Stored(size=entry["size"], sha256=entry["sha256"]):
            present.add(entry["name"])
        else:
            different.append(entry["name"])
    if different and not replace:
        shown = ", ".join(different[:5]) + (", ..." if len(different) > 5 else "")
        raise BackupError(
            f"{counted(len(different), 'stored file')} "
            f"{'differs' if len(different) == 1 else 'differ'} "
            f"from the backup's ({shown}). "
            "Nothing was restored. Pass --replace to overwrite them."
        )
    return present


def _file_restore(place: Place, backup: str, entry: dict[str, Any]) -> None:
    name = entry["name"]
    if default_storage.exists(name):  # different content, and --replace was given
        default_storage.delete(name)
    with place.open(f"{backup}/{FILES}/{name}") as source:
        saved = default_storage.save(name, File(source, name=name))
    if saved != name:
        raise BackupError(f"The storage saved {name} as {saved}.")
    with default_storage.open(name, "rb") as source:
        _expect(
            _digest(source),
            entry,
            f"The restored {name}",
            meaning="the storage did not keep what was written.",
        )


def _stored_keys(storage: Storage, prefix: str) -> Iterator[str]:
    try:
        folders, files = storage.listdir(prefix)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{prefix}/{name}"
    for folder in folders:
        yield from _stored_keys(storage, f"{prefix}/{folder}")
