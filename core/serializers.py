from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A text field that takes JSON strings only.

    DRF's CharField turns a number into its text (`0` is stored as "0"), so a body
    the schema refuses would be accepted; this one answers 400 `invalid` instead.
    """

    default_error_messages = {"invalid": "Not a valid string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictManyRelatedField(serializers.ManyRelatedField):
    """A list of related objects that takes JSON arrays only.

    DRF's takes any iterable, so an object (`{}`) would be read as its keys.
    """

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        return super().to_internal_value(data)


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ModelSerializer, with text columns as StrictCharField."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
    }


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


def datetime_json():
    """DRF's DateTimeField output, or the datetime itself where that is the same:
    the database's datetimes are UTC, and UTC is what DRF would render, as the
    renderer (core/renderers.py) writes a datetime. For JSON built by hand."""
    if timezone.get_current_timezone_name() == "UTC":
        return _unchanged
    return serializers.DateTimeField(
        default_timezone=timezone.get_current_timezone()
    ).to_representation


def _unchanged(value):
    return value
