"""The audit trail: record_activity() inside the transaction of the change.

The request's IP and user agent come from a context variable that
RequestContextMiddleware sets, so services need no request parameter.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.http import HttpRequest, HttpResponse

from core.client_ip import client_ip
from core.models import ActivityLog

Action = ActivityLog.Action
# Keys that must never reach the log, whatever a caller passes in metadata.
SECRET_KEYS = frozenset(
    {
        "password",
        "old_password",
        "new_password",
        "token",
        "access",
        "refresh",
        "id_token",
    }
)


@dataclass(frozen=True)
class RequestContext:
    ip: str | None
    user_agent: str


_request_context: contextvars.ContextVar[RequestContext | None] = (
    contextvars.ContextVar("gatehouse_request_context", default=None)
)


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        context = RequestContext(
            ip=client_ip(request) or None,
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        )
        reset = _request_context.set(context)
        try:
            return self.get_response(request)
        finally:
            _request_context.reset(reset)


def record_activity(
    *,
    action: str,
    actor: Any = None,
    target: models.Model | None = None,
    metadata: dict[str, Any] | None = None,
) -> ActivityLog:
    """Writes one audit entry; call it inside the transaction of the change."""
    context = _request_context.get() or RequestContext(ip=None, user_agent="")
    clean = {k: v for k, v in (metadata or {}).items() if k not in SECRET_KEYS}
    return ActivityLog.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        target_type=target._meta.model_name if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        ip=context.ip,
        user_agent=context.user_agent,
        metadata=clean,
    )
