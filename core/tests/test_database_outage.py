"""A database connection lost under a request: 503 JSON, and the next one reconnects."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.db import close_old_connections, connection

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="ends a PostgreSQL backend"
)


def _terminate_this_threads_connection() -> int:
    pid = connection.connection.info.backend_pid
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
    finally:
        other.close()
    return pid


@pytest.mark.django_db(transaction=True)
def test_a_lost_connection_answers_503_json_and_the_next_request_reconnects(
    api_client, approved_user
):
    api_client.force_authenticate(approved_user)
    assert api_client.get("/api/v1/resources/").status_code == HTTPStatus.OK
    dead = _terminate_this_threads_connection()

    lost = api_client.get("/api/v1/resources/")
    close_old_connections()  # request_finished (the test client skips it)
    again = api_client.get("/api/v1/resources/")

    assert lost.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert lost.json()["code"] == "service_unavailable"
    assert lost["Retry-After"] == "1"
    assert again.status_code == HTTPStatus.OK
    assert connection.connection.info.backend_pid != dead
