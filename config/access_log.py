"""gunicorn's logger, without an access line for each probe that found the service up.

A load balancer probes GET /health every few seconds on every instance: a line
each is noise, and per probe about a third of what the answer costs. A probe
that fails (503) is logged as before. LOG_HEALTH_PROBES=true logs every probe.
"""

from __future__ import annotations

from http import HTTPStatus

from gunicorn.glogging import Logger

PROBE_PATH = "/health"  # core.health.PROBE_PATH; not imported: Django is not set up


class ProbeQuietLogger(Logger):
    def access(self, resp, req, environ, request_time) -> None:
        if (
            resp.status_code == HTTPStatus.OK
            and environ.get("PATH_INFO") == PROBE_PATH
            and environ.get("REQUEST_METHOD") == "GET"
        ):
            return
        super().access(resp, req, environ, request_time)
