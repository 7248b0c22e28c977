"""A create writes the row and its audit entry all or nothing, and nothing else:
one statement on PostgreSQL, one transaction elsewhere."""

from http import HTTPStatus

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from core.audit import activity_entry, insert_with_activity
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
    # The caller's session and user, then the writes; no savepoint.
    if connection.vendor == "postgresql":
        assert _statements(queries) == ["SELECT", "WITH"]
    else:
        assert _statements(queries) == ["SELECT", "BEGIN", "INSERT", "INSERT", "COMMIT"]
    assert ActivityLog.objects.filter(
        action=ActivityLog.Action.RESOURCE_CREATED,
        target_id=response.json()["id"],
    ).exists()
    assert Resource.objects.filter(owner=approved_user).count() == 4


@pytest.mark.django_db(transaction=True)
def test_a_create_whose_audit_entry_fails_leaves_no_resource(approved_user):
    owner_unsaved = User(email="ghost@example.com")  # its entry's actor: no such row
    resource = Resource(owner=approved_user, title="Plan")
    entry = activity_entry(
        action=ActivityLog.Action.RESOURCE_CREATED, actor=owner_unsaved, target=resource
    )

    with pytest.raises(IntegrityError):
        insert_with_activity(resource, entry=entry)

    assert not Resource.objects.filter(pk=resource.pk).exists()
    assert not ActivityLog.objects.filter(target_id=str(resource.pk)).exists()


@pytest.mark.django_db
def test_the_rows_inserted_together_read_back_as_saved(approved_user):
    resource = Resource(owner=approved_user, title="Plan", data={"k": [1]})
    entry = activity_entry(
        action=ActivityLog.Action.RESOURCE_CREATED,
        actor=approved_user,
        target=resource,
        metadata={"note": "x", "password": "never logged"},
    )

    insert_with_activity(resource, entry=entry)

    saved = Resource.objects.get(pk=resource.pk)
    logged = ActivityLog.objects.get(pk=entry.pk)
    assert not resource._state.adding
    assert (saved.title, saved.data, saved.owner_id) == (
        "Plan",
        {"k": [1]},
        approved_user.pk,
    )
    assert saved.created_at == resource.created_at
    assert saved.updated_at == resource.updated_at is not None  # auto_now ran
    assert (logged.actor_id, logged.target_type, logged.target_id) == (
        approved_user.pk,
        "resource",
        str(resource.pk),
    )
    assert logged.metadata == {"note": "x"}
