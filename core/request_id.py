"""The current request's id, held in a context variable so every log line can carry it.

RequestIdMiddleware (core/middleware.py) binds it for the length of a request;
RequestIdFilter copies it onto each log record as `request_id`.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

HEADER = "X-Request-ID"
NO_REQUEST = "-"
# A caller's id is kept only when it is a short plain token: anything else could
# smuggle newlines or markup into log lines and response headers.
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "gatehouse_request_id", default=None
)


def request_id_from_header(value: str | None) -> str:
    """Returns the caller's X-Request-ID when it is a sane token, else a new uuid4 hex."""
    if value and _SANE_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return _request_id.get()


def bind_request_id(value: str) -> contextvars.Token[str | None]:
    return _request_id.set(value)


def unbind_request_id(token: contextvars.Token[str | None]) -> None:
    _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record: the current request's, or "-" outside one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            # django.request logs 4xx answers after the middleware has returned, but
            # hands over the request, which RequestIdMiddleware labelled.
            record.request_id = (
                _request_id.get()
                or getattr(getattr(record, "request", None), "request_id", None)
                or NO_REQUEST
            )
        return True
