"""Of 16 concurrent refreshes of one token, exactly one succeeds (real server, real DB)."""

import threading
from http import HTTPStatus

import pytest
from django.db import connection

from accounts.models import AuthSession
from accounts.sessions import session_start
from core.tests.live_http import send_json

CONCURRENT = 16


@pytest.mark.django_db(transaction=True)
def test_exactly_one_of_sixteen_concurrent_refreshes_succeeds(
    live_server, user_factory, rf
):
    if connection.vendor != "postgresql":
        pytest.skip("needs a database that serves concurrent connections (PostgreSQL)")
    user = user_factory()
    tokens = session_start(user=user, request=rf.post("/"))
    barrier = threading.Barrier(CONCURRENT)
    statuses: list[int] = []

    def refresh() -> None:
        barrier.wait()
        statuses.append(
            send_json(
                "POST",
                f"{live_server.url}/api/v1/auth/refresh/",
                {"refresh": tokens["refresh"]},
            )
        )

    threads = [threading.Thread(target=refresh) for _ in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(statuses) == CONCURRENT
    assert statuses.count(HTTPStatus.OK) == 1
    assert statuses.count(HTTPStatus.UNAUTHORIZED) == CONCURRENT - 1
    session = AuthSession.objects.get(user=user)
    assert session.ended_at is None  # losers raced within the grace period
