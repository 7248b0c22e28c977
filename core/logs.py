"""Log output for production: one JSON object per line, with URL secrets redacted.

Referenced by dotted path from the logging config in config/observability.py, which
the web server's main process uses too, so nothing here may need Django set up at import.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from config.access_log import ACCESS_LOGGER
from core.request_id import NO_REQUEST

if TYPE_CHECKING:
    from django.urls import ResolverMatch

# URL keyword arguments that are bearer secrets: share tokens, allauth's email
# confirmation and password reset keys. Their values never reach a log line.
SECRET_URL_KWARGS = frozenset({"token", "key", "uidb36", "uidb64"})
REDACTED = "[redacted]"


# Paths known to match a pattern without secrets, by URLconf: every access line
# resolves its path, 24 µs each, and most paths come again. Only paths without a
# secret are kept, so no secret stays here; the set starts over when full.
_SECRET_FREE: set[tuple[str, str]] = set()
_SECRET_FREE_MAX = 1024


def url_secrets(path_info: str) -> list[str]:
    """The values of secret keyword arguments in the URL pattern that path_info matches."""
    urlconf = _urlconf()
    known = (urlconf, path_info)
    if known in _SECRET_FREE:
        return []
    # "/x" too: OptionalTrailingSlashMiddleware serves /api/.../x as /api/.../x/.
    match = _resolve(path_info) or _resolve(path_info + "/")
    if match is None:
        return []
    secrets = [
        value
        for name, value in match.kwargs.items()
        if name in SECRET_URL_KWARGS and isinstance(value, str) and value
    ]
    if not secrets and urlconf:
        if len(_SECRET_FREE) >= _SECRET_FREE_MAX:
            _SECRET_FREE.clear()
        _SECRET_FREE.add(known)
    return secrets


def _urlconf() -> str:
    from django.conf import settings
    from django.urls import get_urlconf

    try:
        return str(get_urlconf() or settings.ROOT_URLCONF)
    except (
        Exception
    ):  # Django not set up (the web server's main process): nothing is kept
        return ""


def _resolve(path_info: str) -> ResolverMatch | None:
    # Imported here: the web server's main process loads this module before Django.
    from django.urls import resolve

    try:
        return resolve(path_info)
    except Exception:  # unmatched, or Django not set up (the web server's main process)
        return None


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def redact_path(path_info: str) -> str:
    return redact(path_info, url_secrets(path_info))


class RedactUrlSecretsFilter(logging.Filter):
    """Redacts share tokens and reset keys from the path in django.request records.

    Installed on the logger, not a handler, so Sentry's breadcrumbs see the
    redacted record too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if request is not None and isinstance(record.args, tuple):
            secrets = url_secrets(request.path_info)
            if secrets:
                record.args = tuple(
                    redact(arg, secrets) if isinstance(arg, str) else arg
                    for arg in record.args
                )
        return True


class JsonFormatter(_JsonFormatter):
    """time, level, logger, message, request_id, then the record's extra fields.

    Access records (config/access_log.py) become method, path, status, duration_ms,
    bytes and the X-Request-ID the response carried; never the query string or
    request headers.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(levelname)s %(name)s %(message)s %(request_id)s")
        kwargs.setdefault(
            "rename_fields",
            {"levelname": "level", "name": "logger", "status_code": "status"},
        )
        # `request` is Django's request (or runserver's socket): its repr carries the
        # query string, and nothing in it belongs in a log line.
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request"])
        super().__init__(*args, **kwargs)

    def add_fields(
        self,
        log_data: dict[str, Any],
        record: logging.LogRecord,
        message_dict: dict[str, Any],
    ) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, tz=UTC).isoformat(
            timespec="milliseconds"
        )
        super().add_fields(log_data, record, message_dict)
        if log_data.get("request_id") is None:
            log_data["request_id"] = NO_REQUEST
        if record.name == ACCESS_LOGGER and isinstance(record.args, Mapping):
            self._add_access_fields(log_data, record.args)

    @staticmethod
    def _add_access_fields(log_data: dict[str, Any], fields: Mapping) -> None:
        path = redact_path(fields["path"])
        log_data.update(
            message=f"{fields['method']} {path} {fields['status']}",
            request_id=fields["request_id"],
            method=fields["method"],
            path=path,
            status=fields["status"],
            duration_ms=fields["duration_ms"],
            bytes=int(length) if (length := fields["bytes"]).isdigit() else length,
        )
