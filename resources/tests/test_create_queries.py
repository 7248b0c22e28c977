"""A create is one transaction: the row and its audit entry, nothing else inside or after."""

from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import ActivityLog
from resources.models import Resource

LIST = "/api/v1/resources/"


def _statements(queries) -> list[str]:
    return [query["sql"].split(" ", 1)[0].upper() for query in queries]


@pytest.mark.django_db(transaction=True)
def test_a_create_is_one_transaction_holding_the_row_and_its_audit_entry(
    approved_user, auth_client, resource_factory
):
    client = auth_client(approved_user)
    for _ in range(3):  # other resources, so the count cannot grow with data
        resource_factory(owner=approved_user)

    with CaptureQueriesContext(connection) as queries:
        response = client.post(LIST, {"title": "Plan", "data": {"k": 1}}, format="json")

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["files"] == []
    # The caller's session and user, then the one write transaction; no savepoint.
    assert _statements(queries) == ["SELECT", "BEGIN", "INSERT", "INSERT", "COMMIT"]
    assert ActivityLog.objects.filter(
        action=ActivityLog.Action.RESOURCE_CREATED,
        target_id=response.json()["id"],
    ).exists()
    assert Resource.objects.filter(owner=approved_user).count() == 4
