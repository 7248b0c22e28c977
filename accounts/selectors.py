"""Non-trivial reads of accounts data."""

from __future__ import annotations

import json
import uuid
from functools import cache, lru_cache
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, connections
from django.db.models import QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accounts.models import AuthSession, User


def _json_array_sql(expression: str, rest: str) -> str:
    """A subselect of `expression` over `rest`, as the text of a JSON array."""
    if connection.vendor == "postgresql":
        return f"(SELECT COALESCE(json_agg({expression}), '[]')::text {rest})"
    return f"(SELECT json_group_array({expression}) {rest})"  # SQLite's JSON1


@cache
def _access_sql(user: str) -> tuple[str, str]:
    """Subselects of the group names and "app_label.codename" permissions of the
    user row `user`, as Django's ModelBackend computes them: a superuser (an
    admin) has every permission, others their own and their groups'."""
    user_groups = User.groups.through._meta.db_table
    user_permissions = User.user_permissions.through._meta.db_table
    group_permissions = Group.permissions.through._meta.db_table
    group, permission = Group._meta.db_table, Permission._meta.db_table
    content_type = ContentType._meta.db_table
    groups = _json_array_sql(
        "g.name",
        f"FROM {group} g JOIN {user_groups} ug ON ug.group_id = g.id"
        f" WHERE ug.user_id = {user}.id",
    )
    every = f"FROM {permission} p JOIN {content_type} ct ON ct.id = p.content_type_id"
    # Only table and column names come from code here.
    held = (
        f"{every} WHERE p.id IN ("  # noqa: S608
        f"SELECT up.permission_id FROM {user_permissions} up"
        f" WHERE up.user_id = {user}.id"
        f" UNION SELECT gp.permission_id FROM {group_permissions} gp"
        f" JOIN {user_groups} ug ON ug.group_id = gp.group_id"
        f" WHERE ug.user_id = {user}.id)"
    )
    codename = "ct.app_label || '.' || p.codename"
    permissions = (
        f"CASE WHEN {user}.is_superuser THEN {_json_array_sql(codename, every)}"
        f" ELSE {_json_array_sql(codename, held)} END"
    )
    return groups, permissions


def access_loaded(user: User, *, groups: str, permissions: str) -> User:
    """Notes on the user what the access subselects read, so that group_names_of(),
    user.has_perm() and user.get_all_permissions() need no query."""
    user.group_names = sorted(json.loads(groups))  # type: ignore[attr-defined]
    # ModelBackend's own per-object cache of get_all_permissions().
    user._perm_cache = set(json.loads(permissions))  # type: ignore[attr-defined]
    return user


def users_with_access(queryset: QuerySet[User]) -> QuerySet[User]:
    """The users with their groups and permissions read in the same query (for
    access_loaded_from_query())."""
    groups, permissions = _access_sql(User._meta.db_table)
    return queryset.annotate(
        access_groups=RawSQL(groups, [], output_field=TextField()),  # noqa: S611
        access_permissions=RawSQL(permissions, [], output_field=TextField()),  # noqa: S611
    )


def access_loaded_from_query(user: User | None) -> User | None:
    if user is None:
        return None
    return access_loaded(
        user,
        groups=user.access_groups,  # type: ignore[attr-defined]
        permissions=user.access_permissions,  # type: ignore[attr-defined]
    )


def group_names_of(user: User) -> list[str]:
    """The user's group names, sorted; no query after the one-query load."""
    if hasattr(user, "group_names"):
        return user.group_names
    return sorted(user.groups.values_list("name", flat=True))


def permissions_of(user: User) -> list[str]:
    """Every "app_label.codename" the user holds (each one for an admin), sorted."""
    return sorted(user.get_all_permissions())


@cache
def _session_user_sql(*, with_access: bool) -> str:
    user, session, email = User._meta, AuthSession._meta, EmailAddress._meta
    groups, permissions = _access_sql("u")
    access = (
        f", {groups} AS access_groups, {permissions} AS access_permissions"
        if with_access
        else ""
    )
    columns = ", ".join(
        f"u.{connection.ops.quote_name(f.column)}"  # type: ignore[arg-type]  # concrete: set
        for f in user.concrete_fields
    )
    # Only table and column names come from code here; every value is a parameter.
    return (
        f"SELECT {columns}, EXISTS ("  # noqa: S608
        f" SELECT 1 FROM {email.db_table} e"
        f" WHERE e.user_id = u.id AND e.email = u.email AND e.verified"
        f") AS email_verified{access}"
        f" FROM {user.db_table} u JOIN {session.db_table} s ON s.user_id = u.id"
        f" WHERE u.id = %s AND s.id = %s AND u.status = %s"
        f" AND s.ended_at IS NULL AND s.expires_at > %s"
    )


def user_for_live_session(
    *, user_id: uuid.UUID, session_id: uuid.UUID, with_access: bool = True
) -> User | None:
    """The approved user of a live session, with `email_verified` and, when
    `with_access`, their groups and permissions, in one query. Without them,
    group_names_of() and has_perm() read them when asked (Django's own queries):
    the two subselects double what PostgreSQL spends planning this query.

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
        cursor.execute(_session_user_sql(with_access=with_access), params)
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
    if not with_access:
        user.email_verified = bool(row[-1])  # type: ignore[attr-defined]  # an annotation
        return user
    user.email_verified = bool(row[-3])  # type: ignore[attr-defined]  # an annotation
    return access_loaded(user, groups=row[-2], permissions=row[-1])


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
