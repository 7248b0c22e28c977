"""Non-trivial reads of accounts data."""

from __future__ import annotations

import uuid
from functools import cache, lru_cache
from typing import Any

from allauth.account.models import EmailAddress
from django.db import connection, connections
from django.utils import timezone

from accounts.models import AuthSession, User


@cache
def _session_user_sql() -> str:
    user, session, email = User._meta, AuthSession._meta, EmailAddress._meta
    columns = ", ".join(
        f"u.{connection.ops.quote_name(f.column)}"  # type: ignore[arg-type]  # concrete: set
        for f in user.concrete_fields
    )
    # Only table and column names come from code here; every value is a parameter.
    return (
        f"SELECT {columns}, EXISTS ("  # noqa: S608
        f" SELECT 1 FROM {email.db_table} e"
        f" WHERE e.user_id = u.id AND e.email = u.email AND e.verified"
        f") AS email_verified"
        f" FROM {user.db_table} u JOIN {session.db_table} s ON s.user_id = u.id"
        f" WHERE u.id = %s AND s.id = %s AND u.status = %s"
        f" AND s.ended_at IS NULL AND s.expires_at > %s"
    )


def user_for_live_session(*, user_id: uuid.UUID, session_id: uuid.UUID) -> User | None:
    """The approved user of a live session, with `email_verified`, in one query.

    Raw SQL because this runs on every authenticated request: building the
    equivalent ORM query (join plus EXISTS) costs three times the query itself,
    and a RawQuerySet twice what a cursor and Model.from_db() do.
    """
    pk = User._meta.pk
    params = [
        pk.get_db_prep_value(user_id, connection),
        AuthSession._meta.pk.get_db_prep_value(session_id, connection),
        User.Status.APPROVED,
        connection.ops.adapt_datetimefield_value(timezone.now()),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_session_user_sql(), params)
        row = cursor.fetchone()
    if row is None:
        return None
    fields = User._meta.concrete_fields
    user = User.from_db(
        connection.alias,
        [field.attname for field in fields],
        [
            _converted(value, column, converters)
            for (column, converters), value in zip(
                _user_column_converters(connections[connection.alias]),
                row,
                strict=False,
            )
        ],
    )
    user.email_verified = bool(row[-1])  # type: ignore[attr-defined]  # an annotation
    return user


@lru_cache(maxsize=64)  # one entry per thread's connection
def _user_column_converters(wrapper) -> list[tuple[Any, list]]:
    """Each User column with the converters the ORM would run on it (on SQLite:
    datetimes and UUIDs from text; PostgreSQL's driver gives them ready)."""
    table = User._meta.db_table
    return [
        (
            column := field.get_col(table),
            wrapper.ops.get_db_converters(column) + field.get_db_converters(wrapper),
        )
        for field in User._meta.concrete_fields
    ]


def _converted(value, column, converters: list):
    for convert in converters:
        value = convert(value, column, connection)
    return value
