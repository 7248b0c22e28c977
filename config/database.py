"""DATABASES entries from URLs: PostgreSQL through core.postgresql's backend."""

from __future__ import annotations

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

DJANGO_POSTGRESQL = "django.db.backends.postgresql"
POSTGRESQL = "core.postgresql"
# DATABASE_POOLER values: none, or PgBouncer (any pooling mode, transaction included).
POOLERS = ("", "pgbouncer")


def database_from_url(
    url: str, *, pooler: str = "", prepared_statements: bool = False, **options
) -> dj_database_url.DBConfig:
    if pooler not in POOLERS:
        raise ImproperlyConfigured(
            f"DATABASE_POOLER must be pgbouncer or empty, not {pooler!r}"
        )
    config = dj_database_url.parse(url, **options)
    if config["ENGINE"] == DJANGO_POSTGRESQL:
        config["ENGINE"] = POSTGRESQL
        if pooler:
            transaction_pooling_safe(config)
        elif prepared_statements:
            with_prepared_statements(config)
    return config


def with_prepared_statements(config: dj_database_url.DBConfig) -> None:
    """Server-side binding, so that psycopg prepares each statement the second
    time a connection runs it and PostgreSQL plans it once per connection: the
    session query's planning was 0.1-0.4 ms of every signed-in request."""
    config["OPTIONS"] = {
        **config.get("OPTIONS", {}),
        "server_side_binding": True,
        "prepare_threshold": 1,
    }


def transaction_pooling_safe(config: dj_database_url.DBConfig) -> None:
    """What a PostgreSQL entry needs when each transaction may get another server
    connection (PgBouncer's transaction pooling): nothing that outlives a
    transaction on the server."""
    # A cursor declared WITH HOLD lives on the server connection that declared it;
    # the next FETCH may reach another (`.iterator()` uses them).
    config["DISABLE_SERVER_SIDE_CURSORS"] = True
    # Prepared statements live there too. Django already turns psycopg's off unless
    # OPTIONS asks for them; behind a pooler nothing may ask.
    config["OPTIONS"] = {**config.get("OPTIONS", {}), "prepare_threshold": None}
