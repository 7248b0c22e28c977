"""GET /metrics: django-prometheus's counters in Prometheus text format."""

from __future__ import annotations

import hmac
from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_prometheus.exports import ExportToDjangoView


def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        if settings.IS_PRODUCTION:
            # Request counts by view and status are not for the whole internet.
            return JsonResponse(
                {
                    "detail": "Set METRICS_TOKEN to enable /metrics.",
                    "code": "metrics_disabled",
                },
                status=HTTPStatus.FORBIDDEN,
            )
        return ExportToDjangoView(request)
    if not _bearer_matches(request.headers.get("Authorization", ""), token):
        response = JsonResponse(
            {
                "detail": "A valid metrics token is required.",
                "code": "not_authenticated",
            },
            status=HTTPStatus.UNAUTHORIZED,
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return ExportToDjangoView(request)


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, supplied = header.partition(" ")
    # compare_digest takes the same time wherever the first difference is.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        supplied.strip().encode(), token.encode()
    )
