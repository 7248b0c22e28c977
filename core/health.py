"""Readiness probes for /health: each returns None when fine, or a short reason."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection

from config.storage import CLOUDINARY, GCS
from core.redis_cache import cache_reachable

logger = logging.getLogger(__name__)


def database_problem() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.exception("Health check: database unreachable")
        return "unreachable"
    return None


def storage_problem() -> str | None:
    try:
        _probe_storage()
    except FileNotFoundError:
        return None  # a local media folder not created yet is still writable later
    except Exception:
        logger.exception("Health check: storage unreachable")
        return "unreachable"
    return None


def _probe_storage() -> None:
    """Touches the backend once without writing; raises when it does not answer."""
    backend = settings.STORAGES["default"]["BACKEND"]
    if backend == CLOUDINARY:
        default_storage.ping()  # listing would page through every asset, rate-limited
    elif backend == GCS:
        # The client's default retry keeps a refused connection going for 2 minutes.
        list(default_storage.bucket.list_blobs(max_results=1, retry=None, timeout=5))
    else:
        default_storage.listdir("")  # disk or S3: one listing of the root


def cache_problem() -> str | None:
    return None if cache_reachable() else "unavailable"
