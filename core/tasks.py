"""Background work: tasks that retry with backoff and log every failure.

django-tasks has no retries of its own, so `retried_task` re-enqueues a failed
call (deferred where the backend can defer) until TASK_MAX_ATTEMPTS, and each
failed attempt is kept as a FAILED task result and logged with its traceback.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django_tasks import task
from django_tasks.base import Task

from core.file_deletions import file_deletions_run

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
