"""Two admins demoting each other at once: one wins, one admin always remains."""

import threading
from http import HTTPStatus

import pytest
from django.db import connection

from accounts.models import User
from accounts.sessions import session_start
from core.tests.live_http import send_json


@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_leave_one_admin(live_server, user_factory, rf):
    if connection.vendor != "postgresql":
        pytest.skip("needs a database that serves concurrent connections (PostgreSQL)")
    ada, bob = user_factory(role=User.Role.ADMIN), user_factory(role=User.Role.ADMIN)
    tokens = {u.pk: session_start(user=u, request=rf.post("/")) for u in (ada, bob)}
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def demote(actor: User, target: User) -> None:
        barrier.wait()
        url = f"{live_server.url}/api/v1/admin/users/{target.pk}/"
        statuses.append(
            send_json("PATCH", url, {"role": "user"}, bearer=tokens[actor.pk]["access"])
        )

    threads = [
        threading.Thread(target=demote, args=(ada, bob)),
        threading.Thread(target=demote, args=(bob, ada)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) != [HTTPStatus.OK, HTTPStatus.OK]
    assert HTTPStatus.INTERNAL_SERVER_ERROR not in statuses
    assert User.objects.active_admins().count() >= 1
