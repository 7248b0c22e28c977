"""Stored files' lifecycle: generated names, and removal that survives failures.

A row is committed only after its file is stored. Removing files goes through
FileDeletion rows written in the same transaction as the row deletion, then
executed after commit (core/file_deletions.py, by the task core.tasks.run_file_deletions);
whatever fails stays queued for `purge_orphan_files`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from core.models import FileDeletion
from core.tasks import run_file_deletions
from core.uploads import DetectedType

logger = logging.getLogger(__name__)


def file_store(
    *, file: UploadedFile, category: str, owner_key: str, detected: DetectedType
) -> str:
    """Saves the upload under a generated name in this deployment's STORAGE_PREFIX."""
    name = f"{category}/{owner_key}/{uuid.uuid4().hex}{detected.extension}"
    return default_storage.save(f"{settings.STORAGE_PREFIX}/{name}", file)


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
