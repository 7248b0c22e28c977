"""django-tasks-db's `db_worker`, which also takes back the tasks of dead workers.

A worker says it is alive every TASK_WORKER_HEARTBEAT_SECONDS from a thread of
its own (a long task does not silence it), and each time queues again the tasks
left RUNNING by workers gone quiet (core.tasks.tasks_requeue_abandoned).
"""

from __future__ import annotations

import logging
import os
import threading

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands import db_worker

from core.tasks import task_worker_gone, task_worker_seen, tasks_requeue_abandoned

logger = logging.getLogger(__name__)


class Worker(db_worker.Worker):
    def run(self) -> None:
        # Seen before it claims anything, so no other worker takes its first task.
        self._beat()
        stop = threading.Event()
        heart = threading.Thread(
            target=self._beat_until, args=(stop,), name="heartbeat", daemon=True
        )
        heart.start()
        try:
            super().run()
        finally:
            stop.set()
            heart.join(timeout=settings.TASK_WORKER_HEARTBEAT_SECONDS + 5)
            task_worker_gone(worker_id=self.worker_id)

    def _beat_until(self, stop: threading.Event) -> None:
        try:
            while not stop.wait(settings.TASK_WORKER_HEARTBEAT_SECONDS):
                self._beat()
        finally:
            connection.close()

    def _beat(self) -> None:
        try:
            task_worker_seen(worker_id=self.worker_id)
            tasks_requeue_abandoned()
        except Exception:
            # The database may be restarting; the next beat tries again.
            logger.exception("Task worker %s: heartbeat failed", self.worker_id)
            connection.close()


class Command(db_worker.Command):
    help = "Run a database background worker that requeues dead workers' tasks"

    def handle(  # type: ignore[override]
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options: dict,
    ) -> None:
        # db_worker.Command.handle() with this module's Worker.
        self.configure_logging(verbosity)
        if reload and batch:
            reload = False
        queue_names = queue_name.split(",")
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = Worker(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded,
        )
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
