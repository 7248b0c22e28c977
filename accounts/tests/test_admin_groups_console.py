"""Groups in the Django admin: saved through the audited services, admins group fixed."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts import groups as group_services
from accounts.models import ADMINS_GROUP, User
from accounts.tests.test_admin_console import _form_data
from core.models import ActivityLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(client, admin_user):
    client.force_login(admin_user)
    return client


def share_permission() -> Permission:
    return Permission.objects.get(
        content_type__app_label="resources", codename="share_resource"
    )


def audit(prefix: str) -> list[tuple[str, dict]]:
    entries = ActivityLog.objects.filter(action__startswith=prefix).order_by("id")
    return [(entry.action, entry.metadata) for entry in entries]


def test_adding_a_group_in_the_admin_is_audited(console, admin_user):
    response = console.post(
        reverse("admin:auth_group_add"),
        {"name": "editors", "permissions": [str(share_permission().pk)]},
        follow=True,
    )

    assert response.status_code == HTTPStatus.OK
    group = Group.objects.get(name="editors")
    assert list(group.permissions.all()) == [share_permission()]
    assert audit("group.") == [
        ("group.created", {"name": "editors"}),
        (
            "group.permission_added",
            {"group": "editors", "permission": "resources.share_resource"},
        ),
    ]
    group_entries = ActivityLog.objects.filter(action__startswith="group.")
    assert set(group_entries.values_list("actor", flat=True)) == {admin_user.pk}


def test_taking_a_permission_away_in_the_admin_is_audited(console):
    group = group_services.group_create(
        name="editors", permissions=[share_permission()], actor=None
    )
    url = reverse("admin:auth_group_change", args=[group.pk])

    console.post(url, {"name": "writers", "permissions": []}, follow=True)

    group.refresh_from_db()
    assert (group.name, group.permissions.count()) == ("writers", 0)
    assert audit("group.")[-2:] == [
        ("group.renamed", {"from": "editors", "to": "writers"}),
        (
            "group.permission_removed",
            {"group": "writers", "permission": "resources.share_resource"},
        ),
    ]


def test_the_admins_group_page_is_read_only_and_cannot_be_deleted(console):
    group = Group.objects.get(name=ADMINS_GROUP)
    url = reverse("admin:auth_group_change", args=[group.pk])

    page = console.get(url)
    console.post(url, {"name": "staff", "permissions": [str(share_permission().pk)]})
    delete = console.get(reverse("admin:auth_group_delete", args=[group.pk]))

    assert 'name="name"' not in page.content.decode()
    group.refresh_from_db()
    assert (group.name, group.permissions.count()) == (ADMINS_GROUP, 0)
    assert delete.status_code == HTTPStatus.FORBIDDEN


def test_the_group_list_marks_the_admins_group_as_the_roles(console):
    response = console.get(reverse("admin:auth_group_changelist"))

    assert response.status_code == HTTPStatus.OK
    assert "all (the admin role)" in response.content.decode()


def test_setting_a_users_groups_on_their_page_is_audited_and_keeps_admins(
    console, user_factory
):
    other_admin = user_factory(role=User.Role.ADMIN)
    editors = group_services.group_create(name="editors", actor=None)
    url = reverse("admin:accounts_user_change", args=[other_admin.pk])
    data = _form_data(console.get(url), form_id="user_form")
    data["groups"] = [str(editors.pk)]

    response = console.post(url, data, follow=True)

    assert response.status_code == HTTPStatus.OK
    assert set(other_admin.groups.values_list("name", flat=True)) == {
        ADMINS_GROUP,
        "editors",
    }
    assert [action for action, _ in audit("user.group")] == ["user.group_added"]


def test_saving_a_user_page_unchanged_keeps_their_groups(console, user_factory):
    user = user_factory()
    editors = group_services.group_create(name="editors", actor=None)
    group_services.user_set_groups(user=user, groups=[editors], actor=None)
    url = reverse("admin:accounts_user_change", args=[user.pk])

    console.post(url, _form_data(console.get(url), form_id="user_form"), follow=True)

    assert list(user.groups.values_list("name", flat=True)) == ["editors"]
    assert [action for action, _ in audit("user.group")] == ["user.group_added"]
