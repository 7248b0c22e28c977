"""The audit trail records security events, in the change's transaction, without secrets."""

import json
from http import HTTPStatus

import pytest

from accounts import services
from accounts.models import AccessRequest, User
from conftest import DEFAULT_PASSWORD
from core.models import ActivityLog

Action = ActivityLog.Action


def entries(action: str) -> list[ActivityLog]:
    return list(ActivityLog.objects.filter(action=action))


@pytest.mark.django_db
def test_a_sign_in_is_recorded_with_ip_and_user_agent(
    api_client, approved_user, settings
):
    settings.NUM_PROXIES = 1

    api_client.post(
        "/api/v1/auth/login/",
        {"email": approved_user.email, "password": DEFAULT_PASSWORD},
        HTTP_USER_AGENT="AuditBrowser/2.0",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7",
    )

    (entry,) = entries(Action.SIGN_IN_SUCCEEDED)
    assert (entry.actor, entry.ip, entry.user_agent) == (
        approved_user,
        "203.0.113.7",
        "AuditBrowser/2.0",
    )
    assert entry.metadata["method"] == "password"


@pytest.mark.django_db
def test_failed_sign_ins_are_recorded_without_the_password(api_client, approved_user):
    api_client.post(
        "/api/v1/auth/login/", {"email": approved_user.email, "password": "guess-1"}
    )
    api_client.post(
        "/api/v1/auth/login/", {"email": "ghost@example.com", "password": "guess-2"}
    )

    failed = entries(Action.SIGN_IN_FAILED)
    assert len(failed) == 2
    assert {e.metadata["reason"] for e in failed} == {"invalid_credentials"}
    assert {e.actor for e in failed} == {approved_user, None}
    dumped = json.dumps([e.metadata for e in failed])
    assert "guess-1" not in dumped
    assert "guess-2" not in dumped


@pytest.mark.django_db
def test_a_refused_sign_in_of_a_pending_user_is_recorded(api_client, pending_user):
    api_client.post(
        "/api/v1/auth/login/",
        {"email": pending_user.email, "password": DEFAULT_PASSWORD},
    )

    (entry,) = entries(Action.SIGN_IN_FAILED)
    assert entry.metadata["reason"] == "approval_pending"


@pytest.mark.django_db
def test_sign_up_is_recorded(api_client):
    api_client.post(
        "/api/v1/auth/register/",
        {"email": "new@example.com", "password": "a-long-passphrase"},
    )

    (entry,) = entries(Action.SIGNED_UP)
    assert entry.actor.email == "new@example.com"
    assert entry.metadata == {"method": "password", "status": "pending"}


@pytest.mark.django_db
def test_approval_and_rejection_are_recorded_with_who_and_the_note(
    admin_user, pending_user, user_factory, auth_client
):
    other = user_factory(status=User.Status.PENDING)
    services.access_request_open(user=other, reason="")
    client = auth_client(admin_user)
    approve = AccessRequest.objects.get(user=pending_user)
    reject = AccessRequest.objects.get(user=other)

    client.post(f"/api/v1/admin/access-requests/{approve.pk}/approve/", {"note": "ok"})
    client.post(f"/api/v1/admin/access-requests/{reject.pk}/reject/", {"note": "no"})

    (approved,) = entries(Action.ACCESS_APPROVED)
    (rejected,) = entries(Action.ACCESS_REJECTED)
    assert (approved.actor, approved.target_id, approved.metadata["note"]) == (
        admin_user,
        str(pending_user.pk),
        "ok",
    )
    assert (rejected.actor, rejected.target_id, rejected.metadata["note"]) == (
        admin_user,
        str(other.pk),
        "no",
    )


@pytest.mark.django_db
def test_role_and_status_changes_are_recorded_from_and_to(
    admin_user, approved_user, auth_client
):
    client = auth_client(admin_user)

    client.patch(
        f"/api/v1/admin/users/{approved_user.pk}/", {"role": "admin"}, format="json"
    )
    client.patch(
        f"/api/v1/admin/users/{approved_user.pk}/",
        {"status": "disabled"},
        format="json",
    )

    (role,) = ActivityLog.objects.filter(
        action=Action.ROLE_CHANGED, target_id=str(approved_user.pk)
    )
    (status,) = entries(Action.STATUS_CHANGED)
    assert (role.actor, role.metadata) == (admin_user, {"from": "user", "to": "admin"})
    assert (status.actor, status.metadata) == (
        admin_user,
        {"from": "approved", "to": "disabled"},
    )


@pytest.mark.django_db
def test_a_refused_change_leaves_no_entry(admin_user, auth_client):
    response = auth_client(admin_user).patch(
        f"/api/v1/admin/users/{admin_user.pk}/", {"status": "disabled"}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not entries(Action.STATUS_CHANGED)


@pytest.mark.django_db
def test_password_change_and_logout_all_are_recorded(approved_user, auth_client):
    client = auth_client(approved_user)

    client.post(
        "/api/v1/auth/password/change/",
        {"old_password": DEFAULT_PASSWORD, "new_password": "a-new-long-passphrase"},
        format="json",
    )
    client.post("/api/v1/auth/logout-all/")

    assert [e.actor for e in entries(Action.PASSWORD_CHANGED)] == [approved_user]
    assert [e.actor for e in entries(Action.LOGGED_OUT_ALL)] == [approved_user]


@pytest.mark.django_db
def test_resource_create_share_unshare_and_delete_are_recorded(
    approved_user, auth_client
):
    client = auth_client(approved_user)
    resource_id = client.post(
        "/api/v1/resources/", {"title": "T"}, format="json"
    ).json()["id"]

    client.post(f"/api/v1/resources/{resource_id}/share/")
    client.post(
        f"/api/v1/resources/{resource_id}/share/"
    )  # the same link: no new entry
    client.delete(f"/api/v1/resources/{resource_id}/share/")
    client.delete(f"/api/v1/resources/{resource_id}/")

    for action in (
        Action.RESOURCE_CREATED,
        Action.RESOURCE_SHARED,
        Action.RESOURCE_UNSHARED,
        Action.RESOURCE_DELETED,
    ):
        (entry,) = entries(action)
        assert (entry.actor, entry.target_type, entry.target_id) == (
            approved_user,
            "resource",
            resource_id,
        )


@pytest.mark.django_db
def test_no_password_or_token_ever_reaches_the_log(
    api_client, approved_user, auth_client
):
    client = auth_client(approved_user)
    tokens = client.tokens
    client.post(
        "/api/v1/auth/password/change/",
        {"old_password": DEFAULT_PASSWORD, "new_password": "another-long-passphrase"},
        format="json",
    )
    api_client.post("/api/v1/auth/refresh/", {"refresh": tokens["refresh"]})
    api_client.post("/api/v1/auth/google/", {"id_token": "eyJhbGciOi.fake.idtoken"})

    everything = json.dumps(
        list(ActivityLog.objects.values("metadata", "user_agent", "target_id")),
        default=str,
    )
    for secret in (
        DEFAULT_PASSWORD,
        "another-long-passphrase",
        tokens["access"],
        tokens["refresh"],
        "eyJhbGciOi.fake.idtoken",
    ):
        assert secret not in everything


@pytest.mark.django_db
def test_entries_outlive_a_deleted_account_anonymised(approved_user, auth_client):
    client = auth_client(approved_user)

    client.delete("/api/v1/auth/me/", {"password": DEFAULT_PASSWORD}, format="json")

    assert ActivityLog.objects.filter(action=Action.ACCOUNT_DELETED).exists()
    assert ActivityLog.objects.filter(actor__isnull=False).count() == 0
    dumped = json.dumps(list(ActivityLog.objects.values("metadata")), default=str)
    assert approved_user.email not in dumped


@pytest.mark.django_db
def test_admin_activity_api_lists_and_filters(admin_user, approved_user, auth_client):
    auth_client(approved_user)  # one sign-in by the user
    client = auth_client(admin_user)

    mine = client.get("/api/v1/admin/activity/", {"user": str(approved_user.pk)}).json()
    sign_ins = client.get(
        "/api/v1/admin/activity/", {"action": "sign_in.succeeded"}
    ).json()

    assert mine["count"] == 1
    (entry,) = mine["results"]
    assert set(entry) == {
        "id",
        "actor",
        "action",
        "target_type",
        "target_id",
        "ip",
        "user_agent",
        "metadata",
        "created_at",
    }
    assert entry["actor"]["email"] == approved_user.email
    assert sign_ins["count"] == 2


@pytest.mark.django_db
def test_admin_activity_api_is_for_admins_only(approved_user, auth_client):
    response = auth_client(approved_user).get("/api/v1/admin/activity/")

    assert response.status_code == HTTPStatus.FORBIDDEN


@pytest.mark.django_db
def test_admin_activity_api_rejects_a_bad_filter(admin_user, auth_client):
    client = auth_client(admin_user)

    assert client.get("/api/v1/admin/activity/", {"user": "nope"}).status_code == 400
    assert client.get("/api/v1/admin/activity/", {"action": "nope"}).status_code == 400


@pytest.mark.django_db
def test_the_django_admin_shows_the_log_read_only(client, admin_user, approved_user):
    services.user_update(
        user=approved_user, status=User.Status.DISABLED, updated_by=admin_user
    )
    entry = ActivityLog.objects.get(action=Action.STATUS_CHANGED)
    client.force_login(admin_user)

    listing = client.get(
        "/admin/core/activitylog/", {"action__exact": "user.status_changed"}
    )
    change = client.post(f"/admin/core/activitylog/{entry.pk}/change/", {"action": "x"})

    assert listing.status_code == HTTPStatus.OK
    assert b"user.status_changed" in listing.content
    entry.refresh_from_db()
    assert entry.action == Action.STATUS_CHANGED
    assert change.status_code == HTTPStatus.FORBIDDEN
