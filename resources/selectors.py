"""Reads of resources for the list, as plain rows: no model instances to build.

The page, its count and its files are hand-written SQL around the WHERE clause
Django compiles from the view's filtered queryset (owner, status, search), so
the filters stay Django's and DRF's while the select list, join and ORDER BY,
the same on every request, are written once per process. The rows are tuples
with the database's values (Django's converters where the backend has any, so
UUIDs and aware datetimes on SQLite too), `data` decoded from its text.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import orjson
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import QuerySet
from django.db.models.expressions import Col
from django.db.models.sql import Query

from resources.models import Resource, ResourceFile

_USER = Resource._meta.get_field("owner").related_model._meta

# A page row: what resources.serializers.resource_rows_json reads, in this order.
RESOURCE_COLUMNS = (
    "id",
    "owner_id",
    "owner__email",
    "owner__full_name",
    "title",
    "description",
    "data",
    "status",
    "share_token",
    "created_at",
    "updated_at",
)
_DATA = RESOURCE_COLUMNS.index("data")
# A file row.
FILE_COLUMNS = (
    "id",
    "resource_id",
    "name",
    "file",
    "content_type",
    "size",
    "created_at",
)


class ResourceRows:
    """A queryset's resources for the paginator: count() and slices of row tuples.

    The count keeps to the resource table (a join would cost it 3 to 8 times more
    over the whole table an admin lists)."""

    def __init__(self, queryset: QuerySet[Resource]) -> None:
        query = queryset.query
        _check_written_sql_covers(query)
        self._db = queryset.db
        self._select, self._order_by = _page_sql(self._db, _ordering(query))
        try:
            where, params = query.get_compiler(self._db).compile(query.where)
        except FullResultSet:  # no filter: an admin's list
            where, params = "", ()
        except EmptyResultSet:  # a filter nothing can match: .none()
            where, params = None, ()
        self._where: str | None = f" WHERE {where}" if where else where
        self._params = tuple(params)

    def count(self) -> int:
        if self._where is None:
            return 0
        sql = _count_sql(self._db) + self._where
        with connections[self._db].cursor() as cursor:
            cursor.execute(sql, self._params)
            (count,) = cursor.fetchone()
        return count

    def __getitem__(self, index: slice) -> list[tuple]:
        offset, stop = index.start or 0, index.stop
        if self._where is None or stop <= offset:
            return []
        sql = f"{self._select}{self._where}{self._order_by} LIMIT %s OFFSET %s"
        params = (*self._params, stop - offset, offset)
        return _fetch(self._db, sql, params, _resource_cols(), decode=_DATA)


def resource_rows(queryset: QuerySet[Resource]) -> ResourceRows:
    """The resources of `queryset` (filtered, ordered), to paginate as row tuples
    (RESOURCE_COLUMNS)."""
    return ResourceRows(queryset)


def resource_files_by_resource(
    *, resource_ids: Iterable[uuid.UUID]
) -> list[list[tuple]]:
    """The files of each of these resources, in the same order, as row tuples
    (FILE_COLUMNS) in their default order: one query."""
    ids = list(resource_ids)
    if not ids:
        return []
    db = ResourceFile.objects.db
    sql, ids_param = _files_sql(db), _ids_param(connections[db].vendor, ids)
    # Keyed by UUID.int: a UUID's own hash and == are Python code, 200 calls a page.
    files: dict[int, list[tuple]] = defaultdict(list)
    for row in _fetch(db, sql, (ids_param,), _file_cols()):
        files[row[1].int].append(row)
    return [files.get(resource_id.int, []) for resource_id in ids]


def _check_written_sql_covers(query: Query) -> None:
    """The page's SQL is written here, not compiled from `query`: anything beyond
    filters on the resource's own columns and an ordering by them would be lost."""
    joined = {alias for alias, count in query.alias_refcount.items() if count} - {
        Resource._meta.db_table
    }
    extras = (
        query.distinct,
        query.annotations,
        query.extra,
        query.extra_tables,
        query.extra_order_by,
        query.combinator,
        query.group_by,
        query.is_sliced,
        query.select_for_update,
    )
    if joined or any(extras):
        raise ValueError(
            "resource_rows() takes filters on the resource's own columns only; "
            f"extend its SQL for this queryset: {joined or extras}"
        )


# The SQL below: only the models' table and column names go into its text (the
# S608 noqas); every value is a bound parameter.


def _ordering(query: Query) -> tuple[str, ...]:
    """The query's ORDER BY as field names ("-created_at"), as Django reads it."""
    if query.order_by:
        ordering = query.order_by
    elif query.default_ordering:
        ordering = Resource._meta.ordering or ()
    else:
        ordering = ()
    return _field_names(ordering)


def _field_names(ordering: Sequence[Any]) -> tuple[str, ...]:
    names = tuple(name for name in ordering if isinstance(name, str))
    if len(names) != len(ordering):
        raise ValueError(f"resource_rows() orders by field names only: {ordering}")
    return names


def _col(meta: Any, name: str) -> Col:
    field = meta.pk if name == "pk" else meta.get_field(name)
    if field.is_relation and not name.endswith("_id"):
        raise ValueError(f"resource_rows() reads plain columns only: {name}")
    return field.get_col(meta.db_table)


@lru_cache(maxsize=1)
def _resource_cols() -> tuple[Col, ...]:
    return tuple(
        _col(_USER, name.removeprefix("owner__"))
        if name.startswith("owner__")
        else _col(Resource._meta, name)
        for name in RESOURCE_COLUMNS
    )


@lru_cache(maxsize=1)
def _file_cols() -> tuple[Col, ...]:
    return tuple(_col(ResourceFile._meta, name) for name in FILE_COLUMNS)


def _qualified(db: str, col: Col) -> str:
    quote = connections[db].ops.quote_name
    return f"{quote(str(col.alias))}.{quote(str(col.target.column))}"


def _order_by_sql(db: str, meta: Any, ordering: tuple[str, ...]) -> str:
    terms = [
        f"{_qualified(db, _col(meta, name.removeprefix('-')))} "
        + ("DESC" if name.startswith("-") else "ASC")
        for name in ordering
    ]
    return f" ORDER BY {', '.join(terms)}" if terms else ""


@lru_cache(maxsize=32)
def _page_sql(db: str, ordering: tuple[str, ...]) -> tuple[str, str]:
    """The page's SELECT ... FROM ... JOIN, and its ORDER BY for this ordering."""
    columns = ", ".join(_qualified(db, col) for col in _resource_cols())
    resources = _quoted_table(db, Resource._meta)
    owner = Resource._meta.get_field("owner")
    joined = (
        f"{_qualified(db, owner.get_col(Resource._meta.db_table))} = "
        f"{_qualified(db, _USER.pk.get_col(_USER.db_table))}"
    )
    users = _quoted_table(db, _USER)
    select = f"SELECT {columns} FROM {resources} INNER JOIN {users} ON ({joined})"  # noqa: S608
    return select, _order_by_sql(db, Resource._meta, ordering)


@lru_cache(maxsize=4)
def _count_sql(db: str) -> str:
    return f"SELECT COUNT(*) FROM {_quoted_table(db, Resource._meta)}"  # noqa: S608


@lru_cache(maxsize=4)
def _files_sql(db: str) -> str:
    """The files of a list of resources, the list one bound parameter: bound one
    by one, a page of 100 ids cost a millisecond of quoting, more than the query."""
    meta = ResourceFile._meta
    vendor = connections[db].vendor
    resource_id = _qualified(db, _file_cols()[FILE_COLUMNS.index("resource_id")])
    if vendor == "postgresql":
        where = f"{resource_id} = ANY(string_to_array(%s, ',')::uuid[])"
    elif vendor == "sqlite":
        where = f"{resource_id} IN (SELECT value FROM json_each(%s))"  # noqa: S608
    else:
        raise NotImplementedError(f"resource files on {vendor}")
    columns = ", ".join(_qualified(db, col) for col in _file_cols())
    order_by = _order_by_sql(db, meta, _field_names(meta.ordering or ()))
    return f"SELECT {columns} FROM {_quoted_table(db, meta)} WHERE {where}{order_by}"  # noqa: S608


def _quoted_table(db: str, meta: Any) -> str:
    return connections[db].ops.quote_name(meta.db_table)


def _ids_param(vendor: str, ids: list[uuid.UUID]) -> str:
    # UUIDs as 32 hex digits, how SQLite stores them and PostgreSQL reads them too
    # (formatted from .int: a quarter of str()'s CPU).
    digits = ["%032x" % value.int for value in ids]  # noqa: UP031
    if vendor == "postgresql":
        return ",".join(digits)
    return '["' + '","'.join(digits) + '"]'  # a JSON array, for json_each


def _fetch(
    db: str, sql: str, params: tuple, cols: tuple[Col, ...], *, decode: int = -1
) -> list[tuple]:
    """The rows of `sql` with Django's converters for `cols` (none on PostgreSQL,
    UUIDs and datetimes on SQLite), the column at `decode` read as JSON text."""
    connection = connections[db]
    converters = [
        (i, convs, col)
        for i, col in enumerate(cols)
        if i != decode
        and (
            convs := connection.ops.get_db_converters(col)
            + col.get_db_converters(connection)
        )
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not converters and decode < 0:
        return rows
    converted = []
    for row in rows:
        values = list(row)
        for i, convs, col in converters:
            for convert in convs:
                values[i] = convert(values[i], col, connection)
        if decode >= 0:
            values[decode] = json_from_text(values[decode])
        converted.append(tuple(values))
    return converted


# A run of 19 digits may be an integer beyond 64 bits, which orjson reads as a float.
_LONG_NUMBER = re.compile(r"\d{19}")


def json_from_text(text: str) -> Any:
    """json.loads(text), what JSONField gives, by orjson at a quarter of the CPU
    wherever orjson reads the same value."""
    if _LONG_NUMBER.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # NaN, Infinity, lone surrogates: json reads them
    return json.loads(text)
