"""Background work: tasks that retry with backoff and log every failure.

django-tasks has no retries of its own, so `retried_task` re-enqueues a failed
call (deferred where the backend can defer) until TASK_MAX_ATTEMPTS, and each
failed attempt is kept as a FAILED task result and logged with its traceback.

Nor does django-tasks-db take back a task whose worker died while running it:
the row stays RUNNING for ever. Workers started by `manage.py task_worker` keep
a TaskWorker row fresh, and every one of them queues again (READY) the RUNNING
tasks of workers not seen for TASK_WORKER_STALE_SECONDS. A task may so run a
second time after a crash: tasks are written to be run again safely.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task
from django_tasks.base import Task, TaskResultStatus
from django_tasks_db.models import DBTaskResult

from core.file_deletions import file_deletions_run
from core.models import TaskWorker

logger = logging.getLogger(__name__)


def retried_task(func: Callable[..., Any]) -> Task:
    @functools.wraps(func)
    def run(*args: Any, attempt: int = 1, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception:
            last = attempt >= settings.TASK_MAX_ATTEMPTS
            logger.exception(
                "Task %s failed (attempt %d of %d)%s",
                func.__name__,
                attempt,
                settings.TASK_MAX_ATTEMPTS,
                "; giving up" if last else "; will retry",
            )
            if not last:
                _retry(background_task, args, kwargs, attempt)
            raise

    background_task = task()(run)
    return background_task


def _retry(background_task: Task, args: tuple, kwargs: dict, attempt: int) -> None:
    if background_task.get_backend().supports_defer:
        delay = settings.TASK_RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1)
        background_task = background_task.using(
            run_after=timezone.now() + timedelta(seconds=delay)
        )
    background_task.enqueue(*args, attempt=attempt + 1, **kwargs)


@retried_task
def run_file_deletions(ids: list[int]) -> None:
    """Removes queued stored files; a failure leaves them queued and retries."""
    _, failed = file_deletions_run(ids=ids)
    if failed:
        raise RuntimeError(f"{failed} stored file(s) could not be removed yet")


def task_worker_seen(*, worker_id: str) -> None:
    """Records that the worker is alive now."""
    now = timezone.now()
    TaskWorker.objects.update_or_create(
        worker_id=worker_id, defaults={"seen_at": now}, create_defaults={}
    )


def task_worker_gone(*, worker_id: str) -> None:
    TaskWorker.objects.filter(worker_id=worker_id).delete()


def tasks_requeue_abandoned() -> int:
    """Queues again the RUNNING tasks of workers not seen for TASK_WORKER_STALE_SECONDS."""
    cutoff = timezone.now() - timedelta(seconds=settings.TASK_WORKER_STALE_SECONDS)
    with transaction.atomic():
        TaskWorker.objects.filter(seen_at__lt=cutoff).delete()
        alive = set(TaskWorker.objects.values_list("worker_id", flat=True))
        # Started before the cutoff: a worker claims a task before it is first seen.
        running = DBTaskResult.objects.running().filter(started_at__lt=cutoff)
        abandoned = [
            result.pk
            for result in running.select_for_update(skip_locked=True)
            if not result.worker_ids or result.worker_ids[-1] not in alive
        ]
        requeued = DBTaskResult.objects.filter(
            pk__in=abandoned,
            status=TaskResultStatus.RUNNING,
            started_at__lt=cutoff,
        ).update(status=TaskResultStatus.READY, started_at=None)
    if requeued:
        logger.warning("Queued %d task(s) of dead workers again", requeued)
    return requeued
