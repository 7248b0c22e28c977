from http import HTTPStatus

import pytest

from accounts import services
from accounts.models import AccessRequest, User

USERS = "/api/v1/admin/users/"
REQUESTS = "/api/v1/admin/access-requests/"


@pytest.mark.django_db
def test_non_admins_get_403_on_admin_endpoints(approved_user, auth_client):
    client = auth_client(approved_user)

    for path in (USERS, REQUESTS):
        response = client.get(path)
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert response.json()["code"] == "permission_denied"


@pytest.mark.django_db
def test_anonymous_gets_401_on_admin_endpoints(api_client):
    assert api_client.get(USERS).status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_users_list_is_paginated_and_filtered(admin_user, auth_client, user_factory):
    for _ in range(3):
        user_factory(status=User.Status.PENDING)
    user_factory(full_name="Zed Searchable")
    client = auth_client(admin_user)

    pending = client.get(USERS, {"status": "pending", "page_size": 2}).json()
    found = client.get(USERS, {"search": "searchable"}).json()

    assert pending["count"] == 3
    assert len(pending["results"]) == 2
    assert pending["next"]
    assert pending["previous"] is None
    assert [u["full_name"] for u in found["results"]] == ["Zed Searchable"]


@pytest.mark.django_db
def test_users_list_filters_by_role_and_orders(admin_user, auth_client, user_factory):
    user_factory(email="b@example.com")
    user_factory(email="a@example.com")
    client = auth_client(admin_user)

    admins = client.get(USERS, {"role": "admin"}).json()
    ordered = client.get(USERS, {"ordering": "email"}).json()

    assert [u["email"] for u in admins["results"]] == [admin_user.email]
    emails = [u["email"] for u in ordered["results"]]
    assert emails == sorted(emails)


@pytest.mark.django_db
def test_admin_promotes_a_user(admin_user, approved_user, auth_client):
    response = auth_client(admin_user).patch(
        f"{USERS}{approved_user.pk}/", {"role": "admin"}, format="json"
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["is_admin"] is True
    approved_user.refresh_from_db()
    assert approved_user.is_staff
    assert approved_user.is_superuser
    assert approved_user.groups.filter(name="admins").exists()


@pytest.mark.django_db
def test_last_active_admin_cannot_be_demoted_or_disabled(admin_user, auth_client):
    client = auth_client(admin_user)

    demote = client.patch(f"{USERS}{admin_user.pk}/", {"role": "user"}, format="json")
    disable = client.patch(
        f"{USERS}{admin_user.pk}/", {"status": "disabled"}, format="json"
    )

    assert demote.status_code == disable.status_code == HTTPStatus.BAD_REQUEST
    admin_user.refresh_from_db()
    assert (admin_user.role, admin_user.status) == ("admin", "approved")


@pytest.mark.django_db
def test_demoting_the_last_active_admin_answers_last_admin_with_errors(
    admin_user, auth_client
):
    client = auth_client(admin_user)

    response = client.patch(f"{USERS}{admin_user.pk}/", {"role": "user"}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.json()
    assert body["code"] == "last_admin"
    assert body["errors"] == {"non_field_errors": [body["detail"]]}


@pytest.mark.django_db
def test_an_admin_can_be_demoted_when_another_remains(
    admin_user, auth_client, user_factory
):
    other = user_factory(role=User.Role.ADMIN)

    response = auth_client(admin_user).patch(
        f"{USERS}{other.pk}/", {"role": "user"}, format="json"
    )

    assert response.status_code == HTTPStatus.OK
    other.refresh_from_db()
    assert (other.role, other.is_staff) == ("user", False)


@pytest.mark.django_db
def test_patch_user_rejects_an_unknown_status(admin_user, approved_user, auth_client):
    response = auth_client(admin_user).patch(
        f"{USERS}{approved_user.pk}/", {"status": "emperor"}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "status" in response.json()["errors"]


@pytest.mark.django_db
def test_unknown_user_is_404(admin_user, auth_client):
    response = auth_client(admin_user).get(
        f"{USERS}00000000-0000-0000-0000-000000000000/"
    )

    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db
def test_access_requests_list_has_the_contract_fields(
    admin_user, pending_user, auth_client
):
    response = auth_client(admin_user).get(REQUESTS, {"status": "pending"})

    assert response.status_code == HTTPStatus.OK
    (item,) = response.json()["results"]
    assert set(item) == {
        "id",
        "user",
        "email",
        "full_name",
        "reason",
        "status",
        "created_at",
        "decided_at",
        "decided_by",
        "note",
    }
    assert item["email"] == pending_user.email
    assert item["reason"] == "Please let me in"


@pytest.mark.django_db
def test_approve_approves_the_user_and_emails_them(
    admin_user,
    pending_user,
    auth_client,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    request = AccessRequest.objects.get(user=pending_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client(admin_user).post(
            f"{REQUESTS}{request.pk}/approve/", {"note": "Welcome"}, format="json"
        )

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["status"] == "approved"
    assert body["note"] == "Welcome"
    assert body["decided_by"]["id"] == str(admin_user.pk)
    pending_user.refresh_from_db()
    assert pending_user.status == "approved"
    assert [m.to for m in mailoutbox] == [[pending_user.email]]
    assert "Welcome" in mailoutbox[0].body


@pytest.mark.django_db
def test_approve_twice_is_idempotent(admin_user, pending_user, auth_client):
    request = AccessRequest.objects.get(user=pending_user)
    client = auth_client(admin_user)
    first = client.post(f"{REQUESTS}{request.pk}/approve/", {}, format="json").json()

    second = client.post(
        f"{REQUESTS}{request.pk}/approve/", {"note": "again"}, format="json"
    )

    assert second.status_code == HTTPStatus.OK
    assert second.json() == first


@pytest.mark.django_db
def test_approve_with_admin_role(admin_user, pending_user, auth_client):
    request = AccessRequest.objects.get(user=pending_user)

    auth_client(admin_user).post(f"{REQUESTS}{request.pk}/approve/", {"role": "admin"})

    pending_user.refresh_from_db()
    assert (pending_user.status, pending_user.role) == ("approved", "admin")


@pytest.mark.django_db
def test_reject_rejects_the_user_and_emails_them(
    admin_user,
    pending_user,
    auth_client,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    request = AccessRequest.objects.get(user=pending_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client(admin_user).post(
            f"{REQUESTS}{request.pk}/reject/", {"note": "Not this time"}, format="json"
        )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["status"] == "rejected"
    pending_user.refresh_from_db()
    assert pending_user.status == "rejected"
    assert "Not this time" in mailoutbox[0].body


@pytest.mark.django_db
def test_approve_unknown_request_is_404(admin_user, auth_client):
    response = auth_client(admin_user).post(
        f"{REQUESTS}00000000-0000-0000-0000-000000000000/approve/"
    )

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_approving_a_user_directly_also_decides_their_pending_request(
    admin_user, pending_user, auth_client
):
    response = auth_client(admin_user).patch(
        f"{USERS}{pending_user.pk}/", {"status": "approved"}, format="json"
    )

    assert response.json()["status"] == "approved"
    request = AccessRequest.objects.get(user=pending_user)
    assert (request.status, request.decided_by) == ("approved", admin_user)


@pytest.mark.django_db
def test_approve_without_a_role_keeps_the_users_role(
    admin_user, user_factory, auth_client
):
    other_admin = user_factory(role=User.Role.ADMIN, status=User.Status.REJECTED)
    request = services.access_request_open(user=other_admin, reason="back again")

    auth_client(admin_user).post(f"{REQUESTS}{request.pk}/approve/", {}, format="json")

    other_admin.refresh_from_db()
    assert (other_admin.status, other_admin.role) == ("approved", "admin")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("approve", {"note": 5}, "note"),
        ("approve", {"role": ["admin"]}, "role"),
        ("reject", {"note": 5}, "note"),
        ("reject", {"note": False}, "note"),
    ],
)
def test_approve_and_reject_refuse_wrong_types(
    admin_user, pending_user, auth_client, action, body, field
):
    # Found by schemathesis: a number for `note` was stored as its text.
    access_request = AccessRequest.objects.get(user=pending_user)

    response = auth_client(admin_user).post(
        f"{REQUESTS}{access_request.pk}/{action}/", body, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()["errors"]
    access_request.refresh_from_db()
    assert access_request.status == AccessRequest.Status.PENDING


@pytest.mark.django_db
def test_create_user_refuses_a_name_that_is_not_a_string(admin_user, auth_client):
    response = auth_client(admin_user).post(
        USERS, {"email": "new@example.com", "full_name": 0}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "full_name" in response.json()["errors"]
    assert not User.objects.filter(email="new@example.com").exists()


@pytest.mark.django_db
def test_an_empty_user_filter_on_the_activity_log_is_no_filter(
    admin_user, approved_user, auth_client
):
    # The schema says so (allowEmptyValue): forms send `?user=` for "anyone".
    client = auth_client(admin_user)

    everyone = client.get("/api/v1/admin/activity/").json()["count"]
    response = client.get("/api/v1/admin/activity/?user=")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["count"] == everyone > 0
