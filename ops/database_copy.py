"""Copies every row of every installed model from one database to another.

The common case is the local SQLite file to a fresh production PostgreSQL. The
target is migrated first, then filled in one transaction, table by table in
foreign-key order, keeping every primary key; sequences are reset and row counts
compared before the transaction commits.

Rows that `migrate` itself creates on the target (content types, permissions, the
site, the admins group) are replaced by the source's, so that every foreign key
copied from the source (a user's permissions, an admin log entry's content type)
still points at the row it meant. Any other row on the target is data: the copy
refuses to overwrite it unless told to replace it, and a target that already
holds exactly the source's rows is left alone.
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, models, router, transaction
from django.db.migrations.executor import MigrationExecutor

from config.database import database_from_url
from ops.counts import counted
from ops.migrations_service import migrate_quietly, migration_lock

if TYPE_CHECKING:
    from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper

SOURCE, TARGET = "source", "target"
# The rows a fresh `migrate` creates, and what makes two of them the same row.
SEEDED_BY_MIGRATE: dict[str, tuple[str, ...]] = {
    "contenttypes.contenttype": ("app_label", "model"),
    "auth.permission": ("content_type__app_label", "content_type__model", "codename"),
    "auth.group": ("name",),
    # Its domain comes from BASE_URL when migrate runs, so only the id identifies it.
    "sites.site": ("id",),
}


class DatabaseCopyError(Exception):
    """The copy cannot go ahead or went wrong; no row of the target was changed."""


@dataclass(frozen=True)
class DatabaseCopyResult:
    copied: bool  # False when the target already held exactly the source's rows
    rows: dict[str, int]  # rows per model label, as both databases now hold them


def database_copy(
    *,
    source_url: str,
    target_url: str,
    replace: bool = False,
    batch_size: int = 1000,
    log: Callable[[str], Any] = lambda message: None,
) -> DatabaseCopyResult:
    """Copies every row of every model from the source database to the target."""
    if batch_size < 1:
        raise DatabaseCopyError("The batch size must be at least 1.")
    with databases_registered(**{SOURCE: source_url, TARGET: target_url}):
        _ensure_distinct()
        _ensure_source_ready()
        log("Migrating the target database...")
        _target_migrate()
        copied = models_in_copy_order()
        with transaction.atomic(using=SOURCE), transaction.atomic(using=TARGET):
            source_counts = _row_counts(SOURCE, copied)
            target_counts = _row_counts(TARGET, copied)
            if source_counts == target_counts and _rows_identical(copied, batch_size):
                return DatabaseCopyResult(copied=False, rows=source_counts)
            if not replace and not _target_is_fresh(copied, target_counts):
                raise DatabaseCopyError(
                    _difference_message(source_counts, target_counts)
                )
            _target_empty(copied)
            for model in copied:
                _model_copy(model, batch_size)
                log(
                    f"{model._meta.label}: {counted(source_counts[model._meta.label], 'row')}"
                )
            _sequences_reset(copied)
            _counts_verify(copied, source_counts)
        return DatabaseCopyResult(copied=True, rows=source_counts)


@contextmanager
def databases_registered(**urls: str) -> Iterator[None]:
    """Adds database URLs as connection aliases for the duration of the block."""
    configs = {}
    for alias, url in urls.items():
        if alias in connections.settings:
            raise DatabaseCopyError(f"A database alias {alias!r} already exists.")
        try:
            config = database_from_url(url)
        except ValueError as error:  # the message names the scheme, not a password
            raise DatabaseCopyError(f"The {alias} URL is not usable: {error}") from None
        # Fills in the defaults Django gives DATABASES entries at start-up.
        configs[alias] = connections.configure_settings(
            {DEFAULT_DB_ALIAS: {}, alias: config}
        )[alias]
    connections.settings.update(configs)
    try:
        yield
    finally:
        for alias in configs:
            connections[alias].close()
            del connections[alias]
            del connections.settings[alias]
        # Cached per alias; a later registration of the same name is another database.
        ContentType.objects.clear_cache()


def models_in_copy_order() -> list[type[models.Model]]:
    """Every model with a table, each after the models its foreign keys point at."""
    candidates = [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    ]
    try:
        return _topological(candidates, nullable_edges=True)
    except graphlib.CycleError:
        # Both backends check foreign keys at commit, so a nullable link that
        # closes a cycle may be filled before its target.
        return _topological(candidates, nullable_edges=False)


def _topological(
    candidates: list[type[models.Model]], *, nullable_edges: bool
) -> list[type[models.Model]]:
    included = set(candidates)
    graph: dict[type[models.Model], set[type[models.Model]]] = {}
    for model in sorted(candidates, key=lambda model: model._meta.label):
        graph[model] = {
            field.related_model._meta.concrete_model
            for field in model._meta.local_concrete_fields
            if field.is_relation
            and field.related_model is not None  # always so for a relation
            and (nullable_edges or not field.null)
            and field.related_model._meta.concrete_model in included
            and field.related_model._meta.concrete_model is not model
        } | {parent for parent in model._meta.parents if parent in included}
    return list(graphlib.TopologicalSorter(graph).static_order())


def _ensure_distinct() -> None:
    source, target = (_location(alias) for alias in (SOURCE, TARGET))
    if source == target:
        raise DatabaseCopyError("The source and the target are the same database.")


def _location(alias: str) -> tuple[str, ...]:
    settings = connections.settings[alias]
    name = str(settings["NAME"])
    if connections[alias].vendor == "sqlite":
        name = str(Path(name).resolve())
    return (settings["ENGINE"], settings["HOST"], str(settings["PORT"]), name)


def _ensure_source_ready() -> None:
    connection = connections[SOURCE]
    name = str(connection.settings_dict["NAME"])
    if (
        connection.vendor == "sqlite"
        # cast: the "sqlite" vendor is Django's SQLite backend.
        and not cast("SQLiteWrapper", connection).is_in_memory_db()
        and not Path(name).is_file()
    ):
        raise DatabaseCopyError(f"The source database file {name} does not exist.")
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        first = pending[0][0]
        raise DatabaseCopyError(
            f"The source database lacks {len(pending)} migration(s) (first: "
            f"{first.app_label}.{first.name}). Migrate it first "
            "(DATABASE_URL=<source> python manage.py migrate); the copy only reads it."
        )


class _PinnedRouter:
    """Sends every ORM query to one database (data migrations use the default manager)."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def db_for_read(self, model: type[models.Model], **hints: Any) -> str:
        return self.alias

    def db_for_write(self, model: type[models.Model], **hints: Any) -> str:
        return self.alias


def _target_migrate() -> None:
    previous = router.routers
    # A RunPython that writes through Model.objects would otherwise change the
    # default database, not the one being migrated.
    router.routers = [_PinnedRouter(TARGET), *previous]
    try:
        # The same lock as POST /api/v1/migrate/, should the target's app be up.
        with migration_lock(using=TARGET):
            migrate_quietly(using=TARGET)
    finally:
        router.routers = previous


def _row_counts(alias: str, copied: Iterable[type[models.Model]]) -> dict[str, int]:
    return {
        model._meta.label: model._base_manager.using(alias).count() for model in copied
    }


def _columns(model: type[models.Model]) -> list[models.Field]:
    return [
        field
        for field in model._meta.local_concrete_fields
        if not getattr(field, "generated", False)
    ]


def _rows_identical(copied: Iterable[type[models.Model]], batch_size: int) -> bool:
    """Whether every source row is on the target with the same values (counts match)."""
    max_params = connections[TARGET].features.max_query_params or batch_size
    chunk_size = max(1, min(batch_size, max_params))
    for model in copied:
        names = [field.attname for field in _columns(model)]
        pk_index = names.index(model._meta.pk.attname)
        rows = (
            model._base_manager.using(SOURCE)
            .order_by("pk")
            .values_list(*names)
            .iterator(chunk_size=chunk_size)
        )
        for chunk in _chunks(rows, chunk_size):
            pks = [row[pk_index] for row in chunk]
            on_target = {
                row[pk_index]: row
                for row in model._base_manager.using(TARGET)
                .filter(pk__in=pks)
                .values_list(*names)
            }
            if any(on_target.get(row[pk_index]) != row for row in chunk):
                return False
    return True


def _target_is_fresh(
    copied: Iterable[type[models.Model]], target_counts: dict[str, int]
) -> bool:
    """Whether the target holds nothing but rows migrate made that the source has too."""
    for model in copied:
        if not target_counts[model._meta.label]:
            continue
        identity = SEEDED_BY_MIGRATE.get(model._meta.label_lower)
        if identity is None:
            return False
        on_target = set(model._base_manager.using(TARGET).values_list(*identity))
        on_source = set(model._base_manager.using(SOURCE).values_list(*identity))
        if not on_target <= on_source:
            return False
    return True


def _difference_message(
    source_counts: dict[str, int], target_counts: dict[str, int]
) -> str:
    differing = [
        f"{label} ({counted(target_counts[label], 'row')}, "
        f"source {source_counts[label]})"
        for label in source_counts
        if target_counts[label] != source_counts[label]
    ]
    shown = ", ".join(differing[:5]) + (", ..." if len(differing) > 5 else "")
    what = f"tables differ: {shown}" if differing else "same counts, other rows"
    return (
        f"The target database already holds other data ({what}). Nothing was "
        "copied. Run again with --replace to empty the target and copy the source."
    )


def _target_empty(copied: Iterable[type[models.Model]]) -> None:
    connection = connections[TARGET]
    tables = [model._meta.db_table for model in copied]
    statements = connection.ops.sql_flush(no_style(), tables, allow_cascade=False)
    connection.ops.execute_sql_flush(statements)


def _model_copy(model: type[models.Model], batch_size: int) -> None:
    columns = _columns(model)
    # SQLite caps the parameters of one statement; PostgreSQL takes the whole batch.
    per_insert = connections[TARGET].ops.bulk_batch_size(columns, [None] * batch_size)
    per_insert = max(1, min(batch_size, per_insert))
    manager = model._base_manager
    rows = manager.using(SOURCE).order_by("pk").iterator(chunk_size=batch_size)
    for chunk in _chunks(rows, per_insert):
        # bulk_create() would run pre_save(), stamping auto_now fields with the
        # current time; a raw insert keeps each value exactly as the source has it.
        # Why the ignore: django-stubs omit Manager._insert (QuerySet's, which
        # Django copies onto managers: queryset_only = False).
        manager._insert(chunk, fields=columns, using=TARGET, raw=True)  # type: ignore[attr-defined]


def _chunks(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _sequences_reset(copied: list[type[models.Model]]) -> None:
    connection = connections[TARGET]
    statements = connection.ops.sequence_reset_sql(no_style(), copied)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _counts_verify(
    copied: Iterable[type[models.Model]], source_counts: dict[str, int]
) -> None:
    target_counts = _row_counts(TARGET, copied)
    wrong = [
        label for label in source_counts if target_counts[label] != source_counts[label]
    ]
    if wrong:
        details = ", ".join(
            f"{label}: source {source_counts[label]}, target {target_counts[label]}"
            for label in wrong
        )
        raise DatabaseCopyError(
            f"Row counts differ after the copy ({details}); rolled back."
        )
