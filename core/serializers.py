from __future__ import annotations

from rest_framework import serializers


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
