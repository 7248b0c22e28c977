"""Drain before stopping: for load balancers that route by health checks.

On SIGTERM a gunicorn worker stops accepting at once. A balancer still sending it
traffic then has requests refused (it retries those) or reset (it cannot retry a
write it has sent). With GUNICORN_DRAIN_SECONDS, a worker's SIGTERM first turns
/health to 503 "draining" and keeps serving; the usual graceful stop begins that
many seconds later, once the balancer's health check has taken it out.
"""

from __future__ import annotations

import signal
import threading
from typing import Any


def drain_on_sigterm(worker: Any, *, seconds: float) -> None:
    """Replaces the worker's SIGTERM handler (gunicorn's post_worker_init hook)."""
    from core.health import draining_start

    stop = worker.handle_exit

    def handle_exit(sig: int, frame: Any) -> None:
        draining_start()
        worker.log.info("Draining for %g s before stopping", seconds)
        later = threading.Timer(seconds, stop, args=(sig, frame))
        later.daemon = True
        later.start()

    signal.signal(signal.SIGTERM, handle_exit)
