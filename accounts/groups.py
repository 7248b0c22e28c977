"""Groups and the permissions they grant: the writes of the admin API and the Django
admin, each audited. The admins group is the role's: only User.set_role() changes it.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.db import IntegrityError, transaction

from accounts.errors import InvalidInput, SystemGroupError
from accounts.models import ADMINS_GROUP, User
from core.audit import Action, record_activity

SYSTEM_GROUPS = frozenset({ADMINS_GROUP})


def permission_label(permission: Permission) -> str:
    """ "app_label.codename", the name has_perm() and the API use."""
    return f"{permission.content_type.app_label}.{permission.codename}"


def is_system_group(group: Group) -> bool:
    return group.name in SYSTEM_GROUPS


@transaction.atomic
def group_create(
    *, name: str, permissions: Iterable[Permission] = (), actor: User | None
) -> Group:
    """Creates a group granting `permissions`; a taken name is 400 on `name`."""
    try:
        with transaction.atomic():
            group = Group.objects.create(name=name)
    except IntegrityError:
        raise _name_taken() from None
    record_activity(
        action=Action.GROUP_CREATED, actor=actor, target=group, metadata={"name": name}
    )
    _permissions_set(group=group, permissions=permissions, actor=actor)
    return group


@transaction.atomic
def group_update(
    *,
    group: Group,
    name: str | None = None,
    permissions: Iterable[Permission] | None = None,
    actor: User | None,
) -> Group:
    """Renames a group and/or replaces what it grants; the admins group is fixed."""
    group = Group.objects.select_for_update().get(pk=group.pk)
    if is_system_group(group) and (
        (name is not None and name != group.name) or permissions is not None
    ):
        raise SystemGroupError()
    if name is not None and name != group.name:
        previous, group.name = group.name, name
        try:
            with transaction.atomic():
                group.save(update_fields=["name"])
        except IntegrityError:
            raise _name_taken() from None
        record_activity(
            action=Action.GROUP_RENAMED,
            actor=actor,
            target=group,
            metadata={"from": previous, "to": name},
        )
    if permissions is not None:
        _permissions_set(group=group, permissions=permissions, actor=actor)
    return group


@transaction.atomic
def group_delete(*, group: Group, actor: User | None) -> None:
    """Deletes a group: its members lose what it granted at their next request."""
    if is_system_group(group):
        raise SystemGroupError()
    members = [str(pk) for pk in group.user_set.values_list("pk", flat=True)]
    record_activity(
        action=Action.GROUP_DELETED,
        actor=actor,
        target=group,
        metadata={"name": group.name, "members": members},
    )
    group.delete()


def _permissions_set(
    *, group: Group, permissions: Iterable[Permission], actor: User | None
) -> None:
    wanted = {permission.pk: permission for permission in permissions}
    held = {p.pk: p for p in group.permissions.select_related("content_type")}
    added = [wanted[pk] for pk in wanted.keys() - held.keys()]
    removed = [held[pk] for pk in held.keys() - wanted.keys()]
    group.permissions.add(*added)
    group.permissions.remove(*removed)
    for action, changed in (
        (Action.GROUP_PERMISSION_ADDED, added),
        (Action.GROUP_PERMISSION_REMOVED, removed),
    ):
        for permission in sorted(changed, key=permission_label):
            record_activity(
                action=action,
                actor=actor,
                target=group,
                metadata={
                    "group": group.name,
                    "permission": permission_label(permission),
                },
            )


@transaction.atomic
def user_set_groups(*, user: User, groups: Iterable[Group], actor: User | None) -> User:
    """Replaces the user's groups, leaving the admins group to the role."""
    wanted = {group.pk: group for group in groups}
    if any(is_system_group(group) for group in wanted.values()):
        raise InvalidInput(
            "groups",
            [f"The {ADMINS_GROUP} group follows the role: set `role` instead."],
        )
    held = {g.pk: g for g in user.groups.exclude(name__in=SYSTEM_GROUPS)}
    added = [wanted[pk] for pk in wanted.keys() - held.keys()]
    removed = [held[pk] for pk in held.keys() - wanted.keys()]
    user.groups.add(*added)
    user.groups.remove(*removed)
    for action, changed in (
        (Action.USER_GROUP_ADDED, added),
        (Action.USER_GROUP_REMOVED, removed),
    ):
        for group in sorted(changed, key=lambda group: group.name):
            record_activity(
                action=action,
                actor=actor,
                target=user,
                metadata={"group": group.name, "group_id": group.pk},
            )
    return user


def _name_taken() -> InvalidInput:
    return InvalidInput("name", ["A group with this name already exists."])
