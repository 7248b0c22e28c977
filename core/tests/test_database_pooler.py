"""DATABASE_POOLER=pgbouncer: a PostgreSQL entry keeps no state past a transaction."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.database import database_from_url

URL = "postgres://app@pooler.internal:6432/gatehouse"


def test_behind_pgbouncer_no_server_side_cursor_or_prepared_statement_is_used():
    config = database_from_url(URL, pooler="pgbouncer", conn_max_age=600)

    assert config["ENGINE"] == "core.postgresql"
    assert config["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert config["OPTIONS"]["prepare_threshold"] is None
    assert config["CONN_MAX_AGE"] == 600  # client connections to PgBouncer persist


def test_without_a_pooler_the_entry_is_django_s_own():
    config = database_from_url(URL)

    assert not config.get("DISABLE_SERVER_SIDE_CURSORS")
    assert "prepare_threshold" not in config.get("OPTIONS", {})


def test_a_sqlite_url_ignores_the_pooler():
    config = database_from_url("sqlite:///db.sqlite3", pooler="pgbouncer")

    assert not config.get("DISABLE_SERVER_SIDE_CURSORS")


def test_an_unknown_pooler_fails_at_start_up():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_POOLER must be"):
        database_from_url(URL, pooler="pgpool")


def test_without_a_pooler_statements_are_prepared_when_asked():
    config = database_from_url(URL, prepared_statements=True)

    assert config["OPTIONS"]["server_side_binding"] is True
    assert config["OPTIONS"]["prepare_threshold"] == 1


def test_behind_pgbouncer_statements_are_never_prepared():
    config = database_from_url(URL, pooler="pgbouncer", prepared_statements=True)

    assert config["OPTIONS"]["prepare_threshold"] is None
    assert "server_side_binding" not in config["OPTIONS"]


@pytest.mark.django_db
def test_the_session_query_is_prepared_on_postgresql(approved_user, auth_client):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    client = auth_client(approved_user)
    for _ in range(3):
        assert client.get("/api/v1/settings/").status_code == 200

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%email_verified%"],
        )
        (prepared,) = cursor.fetchone()

    assert prepared >= 1
