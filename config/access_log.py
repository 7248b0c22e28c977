"""One access line per request, written around the WSGI application by the web
server (config/serve.py); runserver writes its own.

granian's own access log cannot see response headers, so the line is written
here: method, path (never the query string, which can carry a token), status,
duration_ms, bytes and the request_id that the X-Request-ID response header
carries. In JSON mode core.logs.JsonFormatter makes these fields of the line.

A load balancer probes GET /health every few seconds on every instance: a line
each is noise, so a probe that found the service up (200) writes none; a failing
one does. LOG_HEALTH_PROBES=true logs every probe.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

ACCESS_LOGGER = "web.access"
# The text line; JSON lines take the same fields (core.logs.JsonFormatter).
ACCESS_LINE = (
    "%(method)s %(path)s %(status)s %(duration_ms)sms request_id=%(request_id)s"
)
PROBE_PATH = "/health"  # core.health.PROBE_PATH, without importing Django's settings

access_logger = logging.getLogger(ACCESS_LOGGER)


class AccessLogApp:
    """WSGI: logs each request once the application has answered it.

    The duration is the application's: a streamed body is sent after the line.
    """

    def __init__(self, application: Callable, *, log_probes: bool) -> None:
        self.application = application
        self.log_probes = log_probes

    def __call__(self, environ: dict, start_response: Callable):
        started = time.perf_counter()
        answer: list[Any] = []

        def start(status: str, headers: list, exc_info: Any = None) -> Any:
            answer[:] = (status, headers)
            return start_response(status, headers, exc_info)

        try:
            body = self.application(environ, start)
        except BaseException:
            self._log(environ, 500, [], started)
            raise
        status, headers = answer or ("500", [])
        self._log(environ, int(status[:3]), headers, started)
        return body

    def _log(self, environ: dict, status: int, headers: list, started: float) -> None:
        path = environ.get("PATH_INFO", "")
        if (
            status == 200
            and path == PROBE_PATH
            and not self.log_probes
            and environ.get("REQUEST_METHOD") == "GET"
        ):
            return
        request_id = length = "-"
        for name, value in headers:
            lowered = name.lower()
            if lowered == "x-request-id":
                request_id = value
            elif lowered == "content-length":
                length = value
        access_logger.info(
            ACCESS_LINE,
            {
                "method": environ.get("REQUEST_METHOD", ""),
                "path": path,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "request_id": request_id,
                "bytes": length,
            },
        )
