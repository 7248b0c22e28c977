"""The admin API's request and response bodies."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import AccessRequest, User
from accounts.serializers import UserSummarySerializer
from core.models import ActivityLog
from core.serializers import ModelSerializer, StrictCharField


class AdminUserUpdateSerializer(ModelSerializer):
    class Meta:
        model = User
        fields = ["role", "status", "full_name"]
        extra_kwargs = {name: {"required": False} for name in fields}


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
