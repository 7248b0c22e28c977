from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializers import ModelSerializer
from settings_app.models import (
    NOTIFICATION_DEFAULTS,
    Preferences,
    notifications_merged,
    validate_notifications,
)


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            key: {"type": "boolean", "default": default}
            for key, default in NOTIFICATION_DEFAULTS.items()
        },
        "additionalProperties": False,
        "description": "PUT sends every switch; PATCH may send some, merged into "
        "the stored ones.",
    }
)
class NotificationsField(serializers.JSONField):
    # Why the ignore: djangorestframework-stubs give JSONField.to_representation a
    # str return; DRF's returns the JSON value itself.
    def to_representation(self, value: Any) -> dict[str, bool]:  # type: ignore[override]
        return notifications_merged(value, {})


class PreferencesSerializer(ModelSerializer):
    notifications = NotificationsField(validators=[validate_notifications])

    class Meta:
        model = Preferences
        fields = [*Preferences.FIELDS, "updated_at"]
        read_only_fields = ["updated_at"]
        # Model defaults would make the fields optional; PUT sends the whole document.
        extra_kwargs = {
            name: {"required": True}
            for name in Preferences.FIELDS
            if name != "notifications"
        }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping):
            known = ", ".join(Preferences.FIELDS)
            unknown = {
                key: [f"Unknown field; the preferences are {known}."]
                for key in data
                if key not in self.fields
            }
            if unknown:
                raise serializers.ValidationError(unknown)
        return super().to_internal_value(data)

    def validate_notifications(self, value: dict[str, bool]) -> dict[str, bool]:
        missing = [key for key in NOTIFICATION_DEFAULTS if key not in value]
        if missing and not self.partial:
            raise serializers.ValidationError(
                [f"Missing key {key!r}." for key in missing]
            )
        return value
