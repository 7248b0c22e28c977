"""Readiness for /health: probes, a result cached for a few seconds, a fast path.

Each probe returns None when fine, or a short reason. Load balancers probe every
few seconds from every instance; the answer is computed at most once per
HEALTH_CACHE_SECONDS in each process. Under a WSGI server `/health` is answered
by HealthProbeApp (config/wsgi.py) before Django's handler, its signals and its
middleware; HealthProbeMiddleware gives the same answer in-process (the test
client, which skips wsgi.py).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.files.storage import default_storage
from django.core.handlers.wsgi import WSGIRequest
from django.db import close_old_connections, connection
from django.http import HttpRequest, HttpResponse
from django.middleware.security import SecurityMiddleware

from core.redis_cache import cache_reachable
from core.request_id import HEADER as REQUEST_ID_HEADER
from core.request_id import bind_request_id, request_id_from_header, unbind_request_id
from core.storage import LOCAL, backend_named

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
    backend = backend_named(settings.STORAGES["default"]["BACKEND"]) or LOCAL
    backend.probe(default_storage)


def cache_problem() -> str | None:
    return None if cache_reachable() else "unavailable"


@dataclass(frozen=True)
class Readiness:
    status: int
    body: dict[str, str]
    encoded: bytes
    expires_at: float


_readiness: Readiness | None = None
_refreshing = threading.Lock()
_draining = threading.Event()
# Written by the web server's main process on SIGTERM (config/serve.py): workers
# are processes of their own, and each probe looks for it (a stat, about 1 µs).
_drain_flag = os.environ.get("GATEHOUSE_DRAIN_FLAG")


def draining_start() -> None:
    """From now on readiness is 503 "draining", while requests are still served:
    a load balancer that routes by /health stops sending any (DRAIN_SECONDS)."""
    _draining.set()


def draining() -> bool:
    return _draining.is_set() or (
        _drain_flag is not None and os.path.exists(_drain_flag)
    )


def readiness(*, upkeep: Callable[[], None] | None = None) -> Readiness:
    """The latest readiness, refreshed by one thread at a time once it is stale;
    `upkeep` runs before and after a refresh, as around a request."""
    current = _current_readiness(upkeep)
    if draining():
        body = {**current.body, "status": "draining"}
        return Readiness(
            status=HTTPStatus.SERVICE_UNAVAILABLE,
            body=body,
            encoded=json.dumps(body, separators=(",", ":")).encode(),
            expires_at=current.expires_at,
        )
    return current


def _current_readiness(upkeep: Callable[[], None] | None) -> Readiness:
    current = _readiness
    if current is not None and time.monotonic() < current.expires_at:
        return current
    with _refreshing:
        # Probes that queued behind a refresh take its result instead of another.
        current = _readiness
        if current is None or time.monotonic() >= current.expires_at:
            upkeep = upkeep or _nothing
            upkeep()
            try:
                current = _refresh()
            finally:
                upkeep()
        return current


def _nothing() -> None:
    pass


def readiness_forget() -> None:
    global _readiness
    _readiness = None
    _draining.clear()


def _refresh() -> Readiness:
    global _readiness
    database = database_problem()
    storage = storage_problem()
    cache = cache_problem()
    # Sign-in survives a cache outage (per-process throttles): degraded, not down.
    if database or storage:
        overall, status = "error", HTTPStatus.SERVICE_UNAVAILABLE
    else:
        overall, status = ("degraded" if cache else "ok"), HTTPStatus.OK
    body = {
        "status": overall,
        "database": database or "ok",
        "storage": storage or "ok",
        "cache": cache or "ok",
        "version": settings.VERSION,
    }
    _readiness = Readiness(
        status=status,
        body=body,
        encoded=json.dumps(body, separators=(",", ":")).encode(),
        expires_at=time.monotonic() + settings.HEALTH_CACHE_SECONDS,
    )
    return _readiness


PROBE_PATH = "/health"


def probe_response(
    request: HttpRequest,
    security: SecurityMiddleware,
    *,
    upkeep: Callable[[], None] | None = None,
) -> HttpResponse:
    """GET /health: the cached readiness, with what any answer carries: the Host
    check (DisallowedHost, a 400), the request id and the security headers."""
    request.get_host()
    request_id = request_id_from_header(request.headers.get(REQUEST_ID_HEADER))
    token = bind_request_id(request_id)
    try:
        current = readiness(upkeep=upkeep)
    finally:
        unbind_request_id(token)
    response = HttpResponse(
        current.encoded, status=current.status, content_type="application/json"
    )
    response[REQUEST_ID_HEADER] = request_id
    response["X-Frame-Options"] = settings.X_FRAME_OPTIONS
    return security.process_response(request, response)


def _security_headers() -> SecurityMiddleware:
    # Reads its settings once, as it does in the middleware stack.
    return SecurityMiddleware(_no_response)


def _no_response(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError("only SecurityMiddleware.process_response() is used")


class HealthProbeMiddleware:
    """Answers GET /health ahead of the other middleware, from the cached readiness.

    /api/v1/health/ takes the full stack.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.security = _security_headers()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != PROBE_PATH or request.method != "GET":
            return self.get_response(request)
        return probe_response(request, self.security)


class HealthProbeApp:
    """WSGI: GET /health answered by probe_response() before Django's handler.

    A probe skips what it has no use for: every middleware, and the signals
    request_started and request_finished, whose connection upkeep (closing a
    connection past its age, or broken) it runs around a refresh, the one time
    it queries. A Host that is not allowed goes on to Django, for its 400.
    """

    def __init__(self, application: Callable) -> None:
        self.application = application
        self.security = _security_headers()

    def __call__(self, environ: dict, start_response: Callable):
        if environ.get("PATH_INFO") != PROBE_PATH or environ["REQUEST_METHOD"] != "GET":
            return self.application(environ, start_response)
        try:
            response = probe_response(
                WSGIRequest(environ),
                self.security,
                upkeep=close_old_connections,
            )
        except DisallowedHost:
            return self.application(environ, start_response)
        start_response(
            f"{response.status_code} {response.reason_phrase}", list(response.items())
        )
        return [response.content]
