"""Stored files' lifecycle: generated names, and removal that survives failures.

A row is committed only after its file is stored. Removing files goes through
FileDeletion rows written in the same transaction as the row deletion, then
executed after commit (core/file_deletions.py, by the task core.tasks.run_file_deletions);
whatever fails stays queued for `purge_orphan_files`.
"""

from __future__ import annotations

import errno
import logging
import uuid
from collections.abc import Iterable
from functools import cache

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from core.errors import InsufficientStorage, StorageUnavailable
from core.models import FileDeletion
from core.tasks import run_file_deletions
from core.uploads import DetectedType

logger = logging.getLogger(__name__)


_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


@cache
def storage_failures() -> tuple[type[Exception], ...]:
    """What the backends raise when their service fails, refuses or times out.

    OSError covers the local disk and the HTTP clients' connection errors
    (requests' are OSErrors); the rest are the SDKs' own bases.
    """
    import boto3.exceptions
    import botocore.exceptions
    import cloudinary.exceptions
    import google.api_core.exceptions
    import google.auth.exceptions
    import urllib3.exceptions

    return (
        OSError,
        botocore.exceptions.BotoCoreError,
        botocore.exceptions.ClientError,
        boto3.exceptions.Boto3Error,
        cloudinary.exceptions.Error,
        google.api_core.exceptions.GoogleAPIError,
        google.auth.exceptions.GoogleAuthError,
        urllib3.exceptions.HTTPError,
    )


def file_store(
    *, file: UploadedFile, category: str, owner_key: str, detected: DetectedType
) -> str:
    """Saves the upload under a generated name in this deployment's STORAGE_PREFIX.

    Raises InsufficientStorage (507) for a full disk and StorageUnavailable (503)
    when the storage fails or times out; either way no file is left behind.
    """
    name = f"{category}/{owner_key}/{uuid.uuid4().hex}{detected.extension}"
    path = f"{settings.STORAGE_PREFIX}/{name}"
    try:
        return default_storage.save(path, file)
    except storage_failures() as exc:
        if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
            logger.error("Storage is full; %s was not stored", path)
            raise InsufficientStorage() from exc
        logger.warning("Storage failed; %s was not stored", path, exc_info=True)
        # A timed-out answer may hide a stored object: queued, it cannot linger.
        FileDeletion.objects.create(path=path, last_error=repr(exc)[:1000])
        raise StorageUnavailable() from exc


def file_remove_now(path: str) -> None:
    """Best-effort removal of a file stored moments ago whose row failed to commit."""
    try:
        default_storage.delete(path)
    except Exception:
        logger.exception("Could not remove %s; queueing it", path)
        FileDeletion.objects.create(path=path, attempts=1)


def files_delete_on_commit(paths: Iterable[str | None]) -> None:
    """Queues removal of stored files; call inside the transaction that drops their rows."""
    deletions = FileDeletion.objects.bulk_create(
        [FileDeletion(path=path) for path in paths if path]
    )
    if deletions:
        ids = [deletion.pk for deletion in deletions]
        transaction.on_commit(lambda: run_file_deletions.enqueue(ids=ids))
