from __future__ import annotations

from rest_framework import serializers

from accounts.serializers import UserSummarySerializer
from core.models import ActivityLog


class ErrorSerializer(serializers.Serializer):
    """The JSON error body of every path under /api/ (see core.errors)."""

    detail = serializers.CharField(help_text="A human readable message.")
    code = serializers.CharField(help_text="A stable machine code, e.g. `invalid`.")
    # Why the ignore: DRF's metaclass pops declared fields off the class, so the
    # property Serializer.errors stays; the stubs see a clash.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors (400) by field; `non_field_errors` for the body.",
    )


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
