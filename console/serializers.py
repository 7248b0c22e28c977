"""The admin API's request and response bodies."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.groups import is_system_group, permission_label
from accounts.models import AccessRequest, User
from accounts.serializers import UserSerializer, UserSummarySerializer
from core.models import ActivityLog
from core.serializers import ModelSerializer, StrictCharField, StrictManyRelatedField


class AdminUserSerializer(UserSerializer):
    """User JSON, with the ids of the user's groups (the admins group included)."""

    groups = serializers.ManyRelatedField(
        child_relation=serializers.PrimaryKeyRelatedField(read_only=True),
        read_only=True,
    )

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "groups"]


class AdminUserUpdateSerializer(ModelSerializer):
    groups = StrictManyRelatedField(
        child_relation=serializers.PrimaryKeyRelatedField(queryset=Group.objects.all()),
        required=False,
        help_text="The ids of every group the user is to be in, besides the "
        "admins group, which follows `role`.",
    )

    class Meta:
        model = User
        fields = ["role", "status", "full_name", "groups"]
        extra_kwargs = {name: {"required": False} for name in fields}


@extend_schema_field({"type": "string", "example": "resources.share_resource"})
class PermissionField(serializers.RelatedField[Permission, Permission, str]):
    """A permission as "app_label.codename"."""

    default_error_messages = {
        "unknown": 'Unknown permission "{value}"; GET /api/v1/admin/permissions/ '
        "lists them.",
        "invalid": 'Not a permission: use "app_label.codename".',
    }

    def to_representation(self, value: Any) -> str:
        return permission_label(value)

    def to_internal_value(self, data: Any) -> Permission:
        if not isinstance(data, str) or data.count(".") != 1:
            self.fail("invalid")
        app_label, codename = data.split(".")
        permission = (
            Permission.objects.select_related("content_type")
            .filter(content_type__app_label=app_label, codename=codename)
            .first()
        )
        if permission is None:
            self.fail("unknown", value=data)
        return permission


class GroupSerializer(ModelSerializer):
    permissions = StrictManyRelatedField(
        child_relation=PermissionField(
            queryset=Permission.objects.select_related("content_type")
        ),
        required=False,
        help_text='What the group grants, each as "app_label.codename".',
    )
    system = serializers.SerializerMethodField(
        help_text="The admins group: its members are the users with role `admin`; "
        "it cannot be renamed, changed or deleted here."
    )

    class Meta:
        model = Group
        fields = ["id", "name", "permissions", "system"]
        read_only_fields = ["id", "system"]
        # A taken name is the service's to refuse (it sees concurrent creates too).
        extra_kwargs: dict[str, dict] = {"name": {"validators": []}}

    def get_system(self, group: Group) -> bool:
        return is_system_group(group)


class PermissionSerializer(serializers.ModelSerializer):
    permission = serializers.SerializerMethodField(
        help_text='"app_label.codename", as groups and `me/` name it.'
    )

    class Meta:
        model = Permission
        fields = ["permission", "name"]
        read_only_fields = fields

    def get_permission(self, permission: Permission) -> str:
        return permission_label(permission)


class AdminUserCreateSerializer(serializers.Serializer):
    email = serializers.EmailField()
    full_name = StrictCharField(required=False, allow_blank=True, max_length=150)
    role = serializers.ChoiceField(choices=User.Role.choices, required=False)


class AccessRequestSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    full_name = serializers.CharField(source="user.full_name", read_only=True)
    decided_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = AccessRequest
        fields = [
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
        ]
        read_only_fields = fields


class ApproveSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=User.Role.choices, required=False)
    note = StrictCharField(required=False, allow_blank=True, max_length=2000)


class RejectSerializer(serializers.Serializer):
    note = StrictCharField(required=False, allow_blank=True, max_length=2000)


class ActivityLogSerializer(serializers.ModelSerializer):
    actor = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = ActivityLog
        fields = [
            "id",
            "actor",
            "action",
            "target_type",
            "target_id",
            "ip",
            "user_agent",
            "metadata",
            "created_at",
        ]
        read_only_fields = fields


class SignupDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    count = serializers.IntegerField()


class StatsSerializer(serializers.Serializer):
    users_by_status = serializers.DictField(child=serializers.IntegerField())
    users_by_role = serializers.DictField(child=serializers.IntegerField())
    signups_last_30_days = SignupDaySerializer(many=True)
    resources_total = serializers.IntegerField()
    storage_bytes = serializers.IntegerField()


class MigrationStatusSerializer(serializers.Serializer):
    applied = serializers.ListField(
        child=serializers.CharField(),
        help_text='Applied migrations as "app_label.migration_name", in plan order.',
    )
    pending = serializers.ListField(
        child=serializers.CharField(),
        help_text="Migrations not applied yet, in the order they would run.",
    )


class MigrationsAppliedSerializer(serializers.Serializer):
    applied_now = serializers.ListField(
        child=serializers.CharField(),
        help_text="The migrations this call applied, in order; empty when none was "
        "pending (or a concurrent call applied them).",
    )
