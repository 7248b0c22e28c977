"""GET me/ lists the user's groups and permissions, read by the session's one query."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import groups as group_services
from accounts.models import ADMINS_GROUP, AuthSession, User
from accounts.selectors import (
    access_loaded_from_query,
    user_for_live_session,
    users_with_access,
)

ME = "/api/v1/auth/me/"


def permission(label: str) -> Permission:
    app_label, codename = label.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def every_permission() -> list[str]:
    return sorted(
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.select_related("content_type")
    )


@pytest.mark.django_db
def test_me_lists_the_users_groups_and_what_they_grant(approved_user, auth_client):
    editors = group_services.group_create(
        name="editors",
        permissions=[permission("resources.share_resource")],
        actor=None,
    )
    readers = group_services.group_create(
        name="readers", permissions=[permission("resources.view_resource")], actor=None
    )
    group_services.user_set_groups(
        user=approved_user, groups=[editors, readers], actor=None
    )

    body = auth_client(approved_user).get(ME).json()

    assert body["groups"] == ["editors", "readers"]
    assert body["permissions"] == [
        "resources.share_resource",
        "resources.view_resource",
    ]


@pytest.mark.django_db
def test_me_of_a_user_without_groups_has_empty_lists(approved_user, auth_client):
    body = auth_client(approved_user).get(ME).json()

    assert (body["groups"], body["permissions"]) == ([], [])


@pytest.mark.django_db
def test_me_adds_a_users_own_permissions(approved_user, auth_client):
    approved_user.user_permissions.add(permission("resources.share_resource"))

    body = auth_client(approved_user).get(ME).json()

    assert body["permissions"] == ["resources.share_resource"]


@pytest.mark.django_db
def test_an_admin_holds_every_permission(admin_user, auth_client):
    body = auth_client(admin_user).get(ME).json()

    assert body["groups"] == [ADMINS_GROUP]
    assert body["permissions"] == every_permission()


@pytest.mark.django_db
def test_me_costs_one_query_with_groups_and_permissions_growing(
    approved_user, auth_client
):
    client = auth_client(approved_user)
    first = group_services.group_create(
        name="g0", permissions=[permission("resources.share_resource")], actor=None
    )
    group_services.user_set_groups(user=approved_user, groups=[first], actor=None)
    with CaptureQueriesContext(connection) as few:
        client.get(ME)
    labels = ["add_resource", "change_resource", "delete_resource", "view_resource"]
    groups = [first]
    for number, codename in enumerate(labels, start=1):
        groups.append(
            group_services.group_create(
                name=f"g{number}",
                permissions=[permission(f"resources.{codename}")],
                actor=None,
            )
        )
    group_services.user_set_groups(user=approved_user, groups=groups, actor=None)

    with CaptureQueriesContext(connection) as many:
        response = client.get(ME)

    assert len(response.json()["groups"]) == 5
    assert len(response.json()["permissions"]) == 5
    assert len(few) == len(many) == 1


@pytest.mark.django_db
def test_an_admins_me_costs_one_query_too(admin_user, auth_client):
    client = auth_client(admin_user)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(ME)

    assert response.json()["permissions"]
    assert len(queries) == 1


@pytest.mark.django_db
def test_a_new_group_shows_on_the_users_next_request(approved_user, auth_client):
    client = auth_client(approved_user)
    assert client.get(ME).json()["groups"] == []
    editors = group_services.group_create(
        name="editors",
        permissions=[permission("resources.share_resource")],
        actor=None,
    )

    group_services.user_set_groups(user=approved_user, groups=[editors], actor=None)
    after_joining = client.get(ME).json()
    group_services.group_update(group=editors, permissions=[], actor=None)
    after_the_revoke = client.get(ME).json()
    group_services.user_set_groups(user=approved_user, groups=[], actor=None)
    after_leaving = client.get(ME).json()

    assert after_joining["permissions"] == ["resources.share_resource"]
    assert after_the_revoke["groups"] == ["editors"]
    assert after_the_revoke["permissions"] == []
    assert after_leaving["groups"] == []


# --- The raw SQL and the ORM agree ------------------------------------------------


def _arrange(user: User, case: str) -> None:
    share, view = (
        permission("resources.share_resource"),
        permission("resources.view_resource"),
    )
    if case in {"groups", "both"}:
        one = group_services.group_create(
            name="one", permissions=[share, view], actor=None
        )
        two = group_services.group_create(name="two", permissions=[share], actor=None)
        Group.objects.create(name="empty").user_set.add(user)
        group_services.user_set_groups(
            user=user, groups=[one, two, *user.groups.all()], actor=None
        )
    if case in {"own", "both"}:
        user.user_permissions.add(share, permission("accounts.view_user"))
    if case == "admin":
        user.set_role(User.Role.ADMIN)


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["none", "groups", "own", "both", "admin"])
@pytest.mark.parametrize("loader", ["session", "queryset"])
def test_the_one_query_load_agrees_with_the_orm(user_factory, case, loader):
    user = user_factory()
    _arrange(user, case)
    session = AuthSession.objects.create(
        user=user, refresh_jti="j", expires_at=timezone.now() + timedelta(days=1)
    )

    if loader == "session":
        loaded = user_for_live_session(user_id=user.pk, session_id=session.pk)
    else:
        loaded = access_loaded_from_query(
            users_with_access(User.objects.filter(pk=user.pk)).first()
        )

    fresh = User.objects.get(pk=user.pk)
    assert loaded.group_names == sorted(fresh.groups.values_list("name", flat=True))
    with CaptureQueriesContext(connection) as queries:
        held = loaded.get_all_permissions()
    assert held == fresh.get_all_permissions()
    assert len(queries) == 0


@pytest.mark.django_db
def test_has_perm_costs_no_query_after_the_session_load(approved_user, sign_in):
    approved_user.user_permissions.add(permission("resources.share_resource"))
    sign_in(approved_user)
    session = AuthSession.objects.get(user=approved_user)
    loaded = user_for_live_session(user_id=approved_user.pk, session_id=session.pk)

    with CaptureQueriesContext(connection) as queries:
        answers = (
            loaded.has_perm("resources.share_resource"),
            loaded.has_perm("resources.delete_resource"),
        )

    assert answers == (True, False)
    assert len(queries) == 0


@pytest.mark.django_db
def test_a_view_that_reads_no_access_loads_the_user_without_it(
    approved_user, auth_client
):
    client = auth_client(approved_user)

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/settings/")

    assert response.status_code == 200
    session_load = queries.captured_queries[0]["sql"]
    assert "email_verified" in session_load
    assert "access_permissions" not in session_load


@pytest.mark.django_db
def test_a_view_that_reads_no_access_still_answers_has_perm_rightly(approved_user):
    approved_user.user_permissions.add(permission("resources.share_resource"))
    session = AuthSession.objects.create(
        user=approved_user,
        refresh_jti="j",
        expires_at=timezone.now() + timedelta(days=1),
    )

    loaded = user_for_live_session(
        user_id=approved_user.pk, session_id=session.pk, with_access=False
    )

    assert loaded.has_perm("resources.share_resource")
    assert not loaded.has_perm("resources.delete_resource")
