"""core.postgresql: psycopg's C timestamp parser, and no health check on a busy connection."""

from __future__ import annotations

import datetime
import time

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections
from django.utils import timezone
from psycopg.pq import Format

from core.postgresql import base as backend
from resources.models import Resource

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the PostgreSQL backend's own"
    ),
    pytest.mark.django_db,
]
TIMESTAMPTZ = psycopg.postgres.types["timestamptz"].oid


def test_the_project_runs_on_this_backend():
    assert connection.settings_dict["ENGINE"] == "core.postgresql"
    assert isinstance(connections[DEFAULT_DB_ALIAS], backend.DatabaseWrapper)


def test_timestamps_are_parsed_by_psycopgs_compiled_loader():
    connection.ensure_connection()

    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)

    assert loader is backend.UTCTimestamptzLoader
    assert backend._FastTimestamptzLoader.__module__.startswith("psycopg_binary")


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("2026-12-02 10:00:17.222712+00", (2026, 12, 2, 10, 0, 17, 222712)),
        ("2026-12-02 15:30:00+05:30", (2026, 12, 2, 10, 0, 0, 0)),
        ("0001-01-01 00:00:00+00", (1, 1, 1, 0, 0, 0, 0)),
    ],
)
def test_a_timestamp_arrives_aware_in_utc_as_djangos_loader_gave_it(literal, expected):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz", [literal])
        (value,) = cursor.fetchone()

    assert value == datetime.datetime(*expected, tzinfo=datetime.UTC)
    assert value.tzinfo is datetime.UTC


def test_a_model_datetime_round_trips(approved_user):
    moment = timezone.now().replace(microsecond=123456)
    resource = Resource.objects.create(
        owner=approved_user, title="t", created_at=moment
    )

    stored = Resource.objects.values_list("created_at", flat=True).get(pk=resource.pk)

    assert stored == moment
    assert stored.tzinfo is datetime.UTC


def _request_cycle(wrapper, statement: str = "SELECT 1") -> int:
    """What Django does around one request that runs a query: its backend pid."""
    wrapper.close_if_unusable_or_obsolete()  # request_started
    try:
        with wrapper.cursor() as cursor:
            cursor.execute(statement)
        return wrapper.connection.info.backend_pid
    finally:
        wrapper.close_if_unusable_or_obsolete()  # request_finished


@pytest.fixture
def own_connection():
    """A second connection to the test database, as a server thread has."""
    wrapper = connections.create_connection(DEFAULT_DB_ALIAS)
    assert wrapper.settings_dict["CONN_HEALTH_CHECKS"]  # as configured
    assert wrapper.settings_dict["CONN_MAX_AGE"] > 0
    yield wrapper
    wrapper.close()


def _terminate(pid: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])


def test_a_connection_idle_past_the_window_is_checked_and_replaced(own_connection):
    dead = _request_cycle(own_connection)
    _terminate(dead)
    time.sleep(backend.HEALTH_CHECK_AFTER_IDLE + 0.1)

    replaced = _request_cycle(own_connection)

    assert replaced != dead


def test_a_connection_busy_within_the_window_skips_the_check(own_connection):
    # Shown by what the check would have caught: a backend ended between two
    # requests fails the next one, which closes it; the one after reconnects.
    dead = _request_cycle(own_connection)
    _terminate(dead)

    with pytest.raises(OperationalError):
        _request_cycle(own_connection)
    assert own_connection.connection is None

    assert _request_cycle(own_connection) != dead


def test_a_new_connection_is_checked_after_the_window_as_before(own_connection):
    first = _request_cycle(own_connection)
    time.sleep(backend.HEALTH_CHECK_AFTER_IDLE + 0.1)

    assert _request_cycle(own_connection) == first  # alive: kept, not reopened
