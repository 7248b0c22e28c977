"""The admin API's groups and permissions, and a user's groups."""

from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import groups as group_services
from accounts.models import ADMINS_GROUP
from core.models import ActivityLog

GROUPS = "/api/v1/admin/groups/"
PERMISSIONS = "/api/v1/admin/permissions/"
USERS = "/api/v1/admin/users/"
SHARE = "resources.share_resource"
ADD = "resources.add_resource"


def actions() -> list[tuple[str, dict]]:
    entries = ActivityLog.objects.filter(action__startswith="group.").order_by("id")
    return [(entry.action, entry.metadata) for entry in entries]


@pytest.fixture
def admin(admin_user, auth_client):
    return auth_client(admin_user)


# --- Groups ---------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_creates_a_group_with_permissions(admin):
    response = admin.post(GROUPS, {"name": "editors", "permissions": [SHARE, ADD]})

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert body["name"] == "editors"
    assert sorted(body["permissions"]) == [ADD, SHARE]
    assert body["system"] is False
    assert Group.objects.get(pk=body["id"]).permissions.count() == 2


@pytest.mark.django_db
def test_creating_a_group_is_audited_with_each_permission(admin, admin_user):
    admin.post(GROUPS, {"name": "editors", "permissions": [SHARE, ADD]})

    assert actions() == [
        ("group.created", {"name": "editors"}),
        ("group.permission_added", {"group": "editors", "permission": ADD}),
        ("group.permission_added", {"group": "editors", "permission": SHARE}),
    ]
    assert set(ActivityLog.objects.values_list("actor", flat=True)) >= {admin_user.pk}


@pytest.mark.django_db
def test_an_unknown_permission_is_400_naming_the_field(admin):
    response = admin.post(
        GROUPS, {"name": "editors", "permissions": ["resources.fly_to_the_moon"]}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid"
    assert "resources.fly_to_the_moon" in response.json()["errors"]["permissions"][0]
    assert not Group.objects.filter(name="editors").exists()


@pytest.mark.django_db
def test_a_permission_without_an_app_label_is_400(admin):
    response = admin.post(GROUPS, {"name": "editors", "permissions": ["share"]})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "permissions" in response.json()["errors"]


@pytest.mark.django_db
def test_a_taken_group_name_is_400_naming_the_field(admin):
    admin.post(GROUPS, {"name": "editors"})

    response = admin.post(GROUPS, {"name": "editors"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid"
    assert "name" in response.json()["errors"]
    assert Group.objects.filter(name="editors").count() == 1


@pytest.mark.django_db
def test_groups_list_is_paginated_and_shows_the_admins_group_as_system(admin):
    admin.post(GROUPS, {"name": "editors"})

    body = admin.get(GROUPS).json()

    assert body["count"] == 2
    by_name = {group["name"]: group for group in body["results"]}
    assert by_name[ADMINS_GROUP]["system"] is True
    assert by_name["editors"]["system"] is False


@pytest.mark.django_db
def test_groups_list_costs_the_same_queries_with_more_groups(admin):
    admin.post(GROUPS, {"name": "g0", "permissions": [SHARE]})
    with CaptureQueriesContext(connection) as few:
        admin.get(GROUPS)
    for number in range(1, 6):
        admin.post(GROUPS, {"name": f"g{number}", "permissions": [SHARE, ADD]})

    with CaptureQueriesContext(connection) as many:
        response = admin.get(GROUPS)

    assert response.json()["count"] == 7
    assert len(few) == len(many)


@pytest.mark.django_db
def test_renaming_a_group_is_audited(admin):
    group_id = admin.post(GROUPS, {"name": "editors"}).json()["id"]

    response = admin.patch(f"{GROUPS}{group_id}/", {"name": "writers"})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["name"] == "writers"
    assert actions()[-1] == ("group.renamed", {"from": "editors", "to": "writers"})


@pytest.mark.django_db
def test_replacing_a_groups_permissions_audits_each_grant_and_revoke(admin):
    group_id = admin.post(GROUPS, {"name": "editors", "permissions": [ADD]}).json()[
        "id"
    ]

    response = admin.patch(f"{GROUPS}{group_id}/", {"permissions": [SHARE]})

    assert response.json()["permissions"] == [SHARE]
    assert actions()[-2:] == [
        ("group.permission_added", {"group": "editors", "permission": SHARE}),
        ("group.permission_removed", {"group": "editors", "permission": ADD}),
    ]


@pytest.mark.django_db
def test_renaming_a_group_to_a_taken_name_is_400(admin):
    group_id = admin.post(GROUPS, {"name": "editors"}).json()["id"]

    response = admin.patch(f"{GROUPS}{group_id}/", {"name": ADMINS_GROUP})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "name" in response.json()["errors"]


@pytest.mark.django_db
def test_deleting_a_group_is_audited_with_its_members(admin, approved_user):
    group_id = admin.post(GROUPS, {"name": "editors"}).json()["id"]
    admin.patch(f"{USERS}{approved_user.pk}/", {"groups": [group_id]})

    response = admin.delete(f"{GROUPS}{group_id}/")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not Group.objects.filter(pk=group_id).exists()
    assert actions()[-1] == (
        "group.deleted",
        {"name": "editors", "members": [str(approved_user.pk)]},
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("patch", {"name": "staff"}),
        ("patch", {"permissions": [SHARE]}),
        ("delete", None),
    ],
    ids=["rename", "permissions", "delete"],
)
def test_the_admins_group_cannot_be_changed_over_the_api(admin, method, body):
    group = Group.objects.get(name=ADMINS_GROUP)

    response = getattr(admin, method)(f"{GROUPS}{group.pk}/", body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid"
    group.refresh_from_db()
    assert group.name == ADMINS_GROUP
    assert group.permissions.count() == 0


@pytest.mark.django_db
def test_non_admins_get_403_on_groups_and_permissions(approved_user, auth_client):
    client = auth_client(approved_user)
    group = Group.objects.get(name=ADMINS_GROUP)

    answers = [
        client.get(GROUPS),
        client.post(GROUPS, {"name": "mine"}),
        client.get(f"{GROUPS}{group.pk}/"),
        client.patch(f"{GROUPS}{group.pk}/", {"name": "mine"}),
        client.delete(f"{GROUPS}{group.pk}/"),
        client.get(PERMISSIONS),
    ]

    assert [answer.status_code for answer in answers] == [HTTPStatus.FORBIDDEN] * 6
    assert {answer.json()["code"] for answer in answers} == {"permission_denied"}
    assert not Group.objects.filter(name="mine").exists()


# --- Permissions ----------------------------------------------------------------


@pytest.mark.django_db
def test_permissions_list_names_what_can_be_granted(admin):
    body = admin.get(PERMISSIONS, {"search": "share", "page_size": 100}).json()

    assert {"permission": SHARE, "name": "Can create a public share link"} in body[
        "results"
    ]


@pytest.mark.django_db
def test_permissions_list_is_paginated(admin):
    body = admin.get(PERMISSIONS, {"page_size": 5}).json()

    assert len(body["results"]) == 5
    assert body["count"] > 5
    assert body["next"]


# --- A user's groups ------------------------------------------------------------


@pytest.mark.django_db
def test_admin_sets_a_users_groups_and_the_answer_lists_them(admin, approved_user):
    editors = group_services.group_create(name="editors", actor=None)
    readers = group_services.group_create(name="readers", actor=None)

    response = admin.patch(
        f"{USERS}{approved_user.pk}/", {"groups": [editors.pk, readers.pk]}
    )

    assert response.status_code == HTTPStatus.OK
    assert sorted(response.json()["groups"]) == sorted([editors.pk, readers.pk])
    assert set(approved_user.groups.values_list("name", flat=True)) == {
        "editors",
        "readers",
    }


@pytest.mark.django_db
def test_membership_changes_are_audited(admin, admin_user, approved_user):
    editors = group_services.group_create(name="editors", actor=None)
    readers = group_services.group_create(name="readers", actor=None)
    admin.patch(f"{USERS}{approved_user.pk}/", {"groups": [editors.pk]})

    admin.patch(f"{USERS}{approved_user.pk}/", {"groups": [readers.pk]})

    entries = ActivityLog.objects.filter(action__startswith="user.group").order_by("id")
    assert [(e.action, e.metadata["group"]) for e in entries] == [
        ("user.group_added", "editors"),
        ("user.group_added", "readers"),
        ("user.group_removed", "editors"),
    ]
    assert {(e.actor_id, e.target_id) for e in entries} == {
        (admin_user.pk, str(approved_user.pk))
    }


@pytest.mark.django_db
def test_an_unknown_group_id_is_400_naming_the_field(admin, approved_user):
    response = admin.patch(f"{USERS}{approved_user.pk}/", {"groups": [999999]})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "groups" in response.json()["errors"]


@pytest.mark.django_db
def test_the_admins_group_is_not_set_through_groups(admin, approved_user):
    admins = Group.objects.get(name=ADMINS_GROUP)

    response = admin.patch(f"{USERS}{approved_user.pk}/", {"groups": [admins.pk]})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "groups" in response.json()["errors"]
    assert not approved_user.groups.exists()
    approved_user.refresh_from_db()
    assert approved_user.role == "user"


@pytest.mark.django_db
def test_an_admins_groups_keep_the_admins_group_whatever_groups_says(
    admin, admin_user, user_factory
):
    user_factory(role="admin")  # so the role may change without a last-admin refusal
    editors = group_services.group_create(name="editors", actor=None)

    response = admin.patch(f"{USERS}{admin_user.pk}/", {"groups": [editors.pk]})

    assert response.status_code == HTTPStatus.OK
    assert set(admin_user.groups.values_list("name", flat=True)) == {
        ADMINS_GROUP,
        "editors",
    }


@pytest.mark.django_db
def test_the_last_admin_rule_still_holds_with_groups_in_the_body(admin, admin_user):
    editors = group_services.group_create(name="editors", actor=None)

    response = admin.patch(
        f"{USERS}{admin_user.pk}/", {"role": "user", "groups": [editors.pk]}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "last_admin"
    assert not admin_user.groups.filter(name="editors").exists()


@pytest.mark.django_db
def test_users_list_costs_the_same_queries_with_more_memberships(admin, user_factory):
    editors = group_services.group_create(name="editors", actor=None)
    with CaptureQueriesContext(connection) as few:
        admin.get(USERS)
    for _ in range(5):
        group_services.user_set_groups(
            user=user_factory(), groups=[editors], actor=None
        )

    with CaptureQueriesContext(connection) as many:
        response = admin.get(USERS)

    assert response.json()["count"] == 6
    assert len(few) == len(many)


@pytest.mark.django_db
@pytest.mark.parametrize("value", [{}, {"1": 1}, "1", 1])
def test_groups_that_are_not_a_list_are_400(admin, approved_user, value):
    # Found by schemathesis: DRF read an object as the list of its keys.
    response = admin.patch(f"{USERS}{approved_user.pk}/", {"groups": value})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "groups" in response.json()["errors"]


@pytest.mark.django_db
def test_permissions_that_are_not_a_list_are_400(admin):
    response = admin.post(GROUPS, {"name": "editors", "permissions": {SHARE: 1}})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "permissions" in response.json()["errors"]
    assert not Group.objects.filter(name="editors").exists()
