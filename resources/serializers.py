from __future__ import annotations

import json

from django.urls import reverse
from rest_framework import serializers

from accounts.serializers import UserSummarySerializer
from resources.models import Resource, ResourceFile

DATA_MAX_BYTES = 64 * 1024  # `data` as compact UTF-8 JSON


def _absolute(request, url: str) -> str:
    return request.build_absolute_uri(url) if request is not None else url


class ResourceFileSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ResourceFile
        fields = ["id", "name", "url", "content_type", "size", "created_at"]
        read_only_fields = fields

    def get_url(self, resource_file: ResourceFile) -> str:
        return _absolute(self.context.get("request"), resource_file.file.url)


class ResourceSerializer(serializers.ModelSerializer):
    owner = UserSummarySerializer(read_only=True)
    files = ResourceFileSerializer(many=True, read_only=True)
    share_url = serializers.SerializerMethodField()
    data = serializers.JSONField(required=False)

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

    def validate_data(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        compact = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        if len(compact.encode()) > DATA_MAX_BYTES:
            raise serializers.ValidationError(
                f"Must be at most {DATA_MAX_BYTES // 1024} KB once serialised."
            )
        return value


def share_url_for(request, token: str) -> str:
    return _absolute(request, reverse("v1:public-resource", args=[token]))


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


class ShareSerializer(serializers.Serializer):
    share_url = serializers.URLField()
    token = serializers.CharField()
