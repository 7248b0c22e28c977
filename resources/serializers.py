from __future__ import annotations

import json
import re

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import UserSummarySerializer
from core.image_variants import is_image_name, variant_urls_builder
from core.serializers import ModelSerializer, StrictCharField, datetime_json
from resources.models import Resource, ResourceFile

DATA_MAX_BYTES = 64 * 1024  # `data` as compact UTF-8 JSON


def _absolute(request, url: str) -> str:
    return request.build_absolute_uri(url) if request is not None else url


class ResourceFileSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    variants = serializers.SerializerMethodField()

    class Meta:
        model = ResourceFile
        fields = ["id", "name", "url", "variants", "content_type", "size", "created_at"]
        read_only_fields = fields

    def get_url(self, resource_file: ResourceFile) -> str:
        return _absolute(self.context.get("request"), resource_file.file.url)

    @extend_schema_field(serializers.DictField(child=serializers.URLField()))
    def get_variants(self, resource_file: ResourceFile) -> dict[str, str]:
        name = resource_file.file.name or ""
        if not is_image_name(name):
            return {}
        request = self.context.get("request")
        url = _absolute(request, resource_file.file.url)
        return variant_urls_builder(lambda path: _absolute(request, path))(name, url)


class _DataValidation:
    def validate_data(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        compact = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        if len(compact.encode()) > DATA_MAX_BYTES:
            raise serializers.ValidationError(
                f"Must be at most {DATA_MAX_BYTES // 1024} KB once serialised."
            )
        return value


class ResourceSerializer(_DataValidation, ModelSerializer):
    owner = UserSummarySerializer(read_only=True)
    files = ResourceFileSerializer(many=True, read_only=True)
    share_url = serializers.SerializerMethodField()
    # Why the ignore: DRF's metaclass pops declared fields off the class, so the
    # property Serializer.data stays; the stubs see a clash.
    data = serializers.JSONField(required=False)  # type: ignore[assignment]

    class Meta:
        model = Resource
        fields = [
            "id",
            "owner",
            "title",
            "description",
            "data",
            "status",
            "files",
            "share_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "owner",
            "status",
            "files",
            "share_url",
            "created_at",
            "updated_at",
        ]

    def get_share_url(self, resource: Resource) -> str | None:
        if not resource.share_token:
            return None
        return share_url_for(self.context.get("request"), resource.share_token)


class ResourceCreateSerializer(_DataValidation, serializers.Serializer):
    """ResourceSerializer's writable fields, declared once: a ModelSerializer builds
    its fields from the model on every instance. tests/test_create_input.py holds
    them equal."""

    title = StrictCharField(max_length=200)
    description = StrictCharField(
        allow_blank=True, required=False, style={"base_template": "textarea.html"}
    )
    data = serializers.JSONField(required=False)  # type: ignore[assignment]  # as above


def share_url_for(request, token: str) -> str:
    return _absolute(request, reverse("v1:public-resource", args=[token]))


def resource_rows_json(
    rows: list[tuple], files_of_rows: list[list[tuple]], *, request
) -> list[dict]:
    """ResourceSerializer's JSON, held equal by tests/test_list_json.py, for rows
    from resources.selectors.resource_rows and each one's files (as
    resources.selectors.resource_files_by_resource lists them), without DRF's
    0.2 ms per resource.

    UUIDs stay UUIDs and, in UTC, datetimes stay datetimes: the renderer writes
    them as DRF's fields would, at a tenth of the cost.
    """
    moment = datetime_json()
    file_url = ResourceFile._meta.get_field("file").storage.url
    absolute = _absolute_url_builder(request)
    variant_urls = variant_urls_builder(absolute)
    # One dict per owner, however many of their rows; keyed by UUID.int, whose
    # hash is C code (a UUID's is Python).
    owners: dict[int, dict] = {}

    def file_json(row: tuple) -> dict:
        file_id, _resource_id, name, stored_name, content_type, size, created_at = row
        url = absolute(file_url(stored_name))
        return {
            "id": file_id,
            "name": name,
            "url": url,
            "variants": variant_urls(stored_name, url),
            "content_type": content_type,
            "size": size,
            "created_at": moment(created_at),
        }

    results = []
    for (
        (
            resource_id,
            owner_id,
            owner_email,
            owner_full_name,
            title,
            description,
            data,
            status,
            share_token,
            created_at,
            updated_at,
        ),
        files,
    ) in zip(rows, files_of_rows, strict=True):
        owner = owners.get(owner_id.int)
        if owner is None:
            owner = owners[owner_id.int] = {
                "id": owner_id,
                "email": owner_email,
                "full_name": owner_full_name,
            }
        results.append(
            {
                "id": resource_id,
                "owner": owner,
                "title": title,
                "description": description,
                "data": data,
                "status": status,
                "files": [file_json(f) for f in files] if files else [],
                "share_url": share_url_for(request, share_token)
                if share_token
                else None,
                "created_at": moment(created_at),
                "updated_at": moment(updated_at),
            }
        )
    return results


def created_resource_json(resource: Resource, *, request) -> dict:
    """ResourceSerializer's JSON for a resource just created (no files, not
    shared), from the saved values, by the list's code."""
    owner = resource.owner
    row = (  # resources.selectors.RESOURCE_COLUMNS
        resource.pk,
        owner.pk,
        owner.email,
        owner.full_name,
        resource.title,
        resource.description,
        resource.data,
        str(resource.status),
        resource.share_token,
        resource.created_at,
        resource.updated_at,
    )
    return resource_rows_json([row], [[]], request=request)[0]


# Characters Django's iri_to_uri() leaves as they are.
_URI_UNCHANGED = re.compile(r"[A-Za-z0-9/#%\[\]=:;$&()+,!?*@'~._-]*")


def _absolute_url_builder(request):
    """request.build_absolute_uri for many URLs at once: a plain path from the
    site root gets the request's scheme and host; anything else goes to Django."""
    if request is None:
        return str
    scheme_host = request.build_absolute_uri("/")[:-1]

    def absolute(url: str) -> str:
        # build_absolute_uri's own shortcut, without its urlsplit and quoting.
        if (
            url.startswith("/")
            and not url.startswith("//")
            and "/./" not in url
            and "/../" not in url
            and _URI_UNCHANGED.fullmatch(url)
        ):
            return scheme_host + url
        return request.build_absolute_uri(url)

    return absolute


class PublicResourceSerializer(serializers.ModelSerializer):
    """What anyone with the link sees: no owner, no share token."""

    files = ResourceFileSerializer(many=True, read_only=True)

    class Meta:
        model = Resource
        fields = [
            "id",
            "title",
            "description",
            "data",
            "status",
            "files",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class UploadUrlSerializer(serializers.Serializer):
    # A string, not a URLField: core/url_fetch.py alone decides what may be fetched.
    url = serializers.CharField(max_length=2048)
    name = serializers.CharField(max_length=255, required=False)


class ShareSerializer(serializers.Serializer):
    share_url = serializers.URLField()
    token = serializers.CharField()
