from datetime import timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from resources.models import ResourceFile

STATS = "/api/v1/admin/stats/"


@pytest.mark.django_db
def test_stats_count_users_signups_resources_and_bytes(
    admin_user, user_factory, resource_factory, auth_client
):
    user_factory(status=User.Status.PENDING)
    user_factory(status=User.Status.REJECTED)
    old = user_factory()
    User.objects.filter(pk=old.pk).update(
        date_joined=timezone.now() - timedelta(days=40)
    )
    resource = resource_factory(owner=admin_user)
    for size in (100, 250):
        ResourceFile.objects.create(
            resource=resource,
            file="x",
            name="x",
            content_type="text/plain",
            size=size,
            checksum="0" * 64,
        )

    response = auth_client(admin_user).get(STATS)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["users_by_status"] == {
        "pending": 1,
        "approved": 2,
        "rejected": 1,
        "disabled": 0,
    }
    assert body["users_by_role"] == {"user": 3, "admin": 1}
    days = body["signups_last_30_days"]
    assert len(days) == 30
    assert days[-1] == {"date": timezone.localdate().isoformat(), "count": 3}
    assert sum(day["count"] for day in days) == 3  # the 40-day-old sign-up is outside
    assert (body["resources_total"], body["storage_bytes"]) == (1, 350)


@pytest.mark.django_db
def test_stats_take_constant_queries_whatever_the_number_of_users(
    admin_user, user_factory, auth_client
):
    client = auth_client(admin_user)
    with CaptureQueriesContext(connection) as few:
        client.get(STATS)
    for _ in range(30):
        user_factory()

    with CaptureQueriesContext(connection) as many:
        client.get(STATS)

    assert len(few) == len(many) <= 6


@pytest.mark.django_db
def test_stats_are_for_admins_only(approved_user, auth_client):
    assert auth_client(approved_user).get(STATS).status_code == HTTPStatus.FORBIDDEN


@pytest.mark.django_db
def test_the_admin_index_shows_the_same_figures(client, admin_user, pending_user):
    client.force_login(admin_user)

    response = client.get("/admin/")

    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert 'id="gatehouse-stats"' in html
    assert '<td id="pending-count"><strong>1</strong></td>' in html
    assert "?status__exact=pending" in html
