"""Executing queued file removals: what the background task and purge_orphan_files run.

Apart from core/files.py, which queues them and enqueues the task, so that
core.tasks can import this at module level without an import cycle.
"""

from __future__ import annotations

import logging

from django.core.files.storage import default_storage
from django.db.models import F

from core.image_variants import variants_delete
from core.models import FileDeletion

logger = logging.getLogger(__name__)


def file_deletions_run(*, ids: list[int] | None = None) -> tuple[int, int]:
    """Executes queued removals; returns (removed, failed)."""
    queued = FileDeletion.objects.all()
    if ids is not None:
        queued = queued.filter(pk__in=ids)
    removed = failed = 0
    for deletion in queued:
        try:
            # Variants first: should the original go and they fail, the row
            # stays queued, and the retry finds them through its name.
            variants_delete(deletion.path)
            default_storage.delete(deletion.path)
        except Exception as exc:
            failed += 1
            logger.warning("Removing stored file %s failed: %s", deletion.path, exc)
            FileDeletion.objects.filter(pk=deletion.pk).update(
                attempts=F("attempts") + 1, last_error=str(exc)[:1000]
            )
        else:
            removed += 1
            deletion.delete()
    return removed, failed
