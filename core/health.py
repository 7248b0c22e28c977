"""Readiness probes for /health: each returns None when fine, or a short reason."""

from __future__ import annotations

import logging

from django.core.files.storage import default_storage
from django.db import connection

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
        # Listing the root touches the backend (disk or bucket) without writing.
        default_storage.listdir("")
    except FileNotFoundError:
        return None  # a local media folder not created yet is still writable later
    except Exception:
        logger.exception("Health check: storage unreachable")
        return "unreachable"
    return None
