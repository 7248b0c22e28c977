"""Reads of resources for the list, as plain rows: no model instances to build."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import QuerySet

from resources.models import Resource, ResourceFile

# What resources.serializers.resource_rows_json reads.
RESOURCE_COLUMNS = (
    "id",
    "owner_id",
    "owner__email",
    "owner__full_name",
    "title",
    "description",
    "data",
    "status",
    "share_token",
    "created_at",
    "updated_at",
)
FILE_COLUMNS = (
    "id",
    "resource_id",
    "name",
    "file",
    "content_type",
    "size",
    "created_at",
)


def resource_rows(queryset: QuerySet[Resource]) -> QuerySet:
    """The resources of `queryset` (filtered, ordered) as dicts, owner joined in."""
    return queryset.prefetch_related(None).values(*RESOURCE_COLUMNS)


def resource_files_by_resource(
    *, resource_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[dict]]:
    """The files of these resources as dicts, in their default order, in one query."""
    files: dict[uuid.UUID, list[dict]] = defaultdict(list)
    rows = ResourceFile.objects.filter(resource_id__in=list(resource_ids))
    for row in rows.values(*FILE_COLUMNS):
        files[row["resource_id"]].append(row)
    return files
