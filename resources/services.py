"""Resource rules: create, change, files, sharing and archiving."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from accounts.models import User
from core.audit import Action, activity_entry, insert_with_activity, record_activity
from core.files import file_remove_now, file_store, files_delete_on_commit
from core.uploads import checksum_of, validate_upload
from core.url_fetch import fetched_file
from resources.models import Resource, ResourceFile

SHARE_TOKEN_BYTES = 32  # 256 bits; a UUID4 would carry only 122


def resource_create(
    *, owner: User, title: str, description: str = "", data: Any = None
) -> Resource:
    resource = Resource(
        owner=owner, title=title, description=description, data=data or {}
    )
    insert_with_activity(
        resource,
        entry=activity_entry(
            action=Action.RESOURCE_CREATED, actor=owner, target=resource
        ),
    )
    # A new resource has no files: answering it needs no query for them.
    # Django's own prefetch cache, an attribute Model does not declare.
    setattr(  # noqa: B010
        resource, "_prefetched_objects_cache", {"files": ResourceFile.objects.none()}
    )
    return resource


def resource_update(*, resource: Resource, **fields: Any) -> Resource:
    writable = {
        k: v for k, v in fields.items() if k in {"title", "description", "data"}
    }
    for key, value in writable.items():
        setattr(resource, key, value)
    if writable:
        resource.save(update_fields=[*writable, "updated_at"])
    return resource


@transaction.atomic
def resource_delete(*, resource: Resource, actor: User) -> None:
    """Deletes the resource; its stored files are removed once this commits."""
    paths = list(resource.files.values_list("file", flat=True))
    record_activity(
        action=Action.RESOURCE_DELETED,
        actor=actor,
        target=resource,
        metadata={"title": resource.title, "files": len(paths)},
    )
    resource.delete()
    files_delete_on_commit(paths)


def user_resources_delete(*, user: User, **_: Any) -> None:
    """accounts.signals.user_data_delete: the resources go with their owner's account."""
    resource_files = ResourceFile.objects.filter(resource__owner=user)
    files_delete_on_commit(list(resource_files.values_list("file", flat=True)))
    Resource.objects.filter(owner=user).delete()


def resource_file_add(*, resource: Resource, upload: UploadedFile) -> ResourceFile:
    """Stores the upload, then commits its row; a failure on either side leaves neither."""
    detected = validate_upload(upload)
    upload_size = upload.size
    assert upload_size is not None  # noqa: S101 (a received upload has a size)
    checksum = checksum_of(upload)
    path = file_store(
        file=upload, category="resources", owner_key=str(resource.pk), detected=detected
    )
    try:
        with transaction.atomic():
            return ResourceFile.objects.create(
                resource=resource,
                file=path,
                name=_display_name(upload.name),
                content_type=detected.content_type,
                size=upload_size,
                checksum=checksum,
            )
    except Exception:
        file_remove_now(path)
        raise


def resource_file_add_from_url(
    *, resource: Resource, url: str, name: str | None = None
) -> ResourceFile:
    """Fetches the file at a public URL and adds it exactly as an upload of it."""
    with fetched_file(url, max_bytes=settings.MAX_UPLOAD_SIZE, name=name) as upload:
        return resource_file_add(resource=resource, upload=upload)


def _display_name(name: str | None) -> str:
    # Kept only for display and downloads: browsers may send a path.
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    return (base or "file")[:255]


@transaction.atomic
def resource_file_delete(*, resource_file: ResourceFile) -> None:
    path = resource_file.file.name
    resource_file.delete()
    files_delete_on_commit([path])


@transaction.atomic
def resource_share(*, resource: Resource, actor: User) -> str:
    """Returns the resource's share token, creating one the first time."""
    if not resource.share_token:
        token = secrets.token_urlsafe(SHARE_TOKEN_BYTES)
        # Only set if still unset, so two concurrent shares agree on one token.
        created = Resource.objects.filter(
            pk=resource.pk, share_token__isnull=True
        ).update(share_token=token)
        if created:
            record_activity(action=Action.RESOURCE_SHARED, actor=actor, target=resource)
        resource.refresh_from_db(fields=["share_token"])
    share_token = resource.share_token
    assert share_token is not None  # noqa: S101 (set above, here or concurrently)
    return share_token


@transaction.atomic
def resource_unshare(*, resource: Resource, actor: User) -> None:
    revoked = Resource.objects.filter(pk=resource.pk, share_token__isnull=False).update(
        share_token=None
    )
    if revoked:
        record_activity(action=Action.RESOURCE_UNSHARED, actor=actor, target=resource)
    resource.share_token = None


def resource_set_status(*, resource: Resource, status: str) -> Resource:
    if resource.status != status:
        resource.status = status
        resource.save(update_fields=["status", "updated_at"])
    return resource
