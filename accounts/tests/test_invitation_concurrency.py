"""One invitation link used twice at once: exactly one accept sets the password."""

import threading
from http import HTTPStatus

import pytest
from allauth.account.utils import user_pk_to_url_str
from django.db import connection

from accounts import services
from accounts.invitations import invitation_token_generator
from core.audit import Action
from core.models import ActivityLog
from core.tests.live_http import send_json


@pytest.mark.django_db(transaction=True)
def test_two_accepts_of_one_link_at_once_succeed_once(live_server, admin_user):
    if connection.vendor != "postgresql":
        pytest.skip("needs a database that serves concurrent connections (PostgreSQL)")
    user = services.user_invite(email="newcomer@example.com", invited_by=admin_user)
    uid = user_pk_to_url_str(user)
    token = invitation_token_generator.make_token(user)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def accept(password: str) -> None:
        barrier.wait()
        body = {"uid": uid, "token": token, "new_password": password}
        url = f"{live_server.url}/api/v1/auth/invitation/accept/"
        statuses.append(send_json("POST", url, body))

    threads = [
        threading.Thread(target=accept, args=(password,))
        for password in ("first-long-passphrase", "second-long-passphrase")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [HTTPStatus.NO_CONTENT, HTTPStatus.BAD_REQUEST]
    assert ActivityLog.objects.filter(action=Action.INVITATION_ACCEPTED).count() == 1
