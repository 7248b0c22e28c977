from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.static import serve as static_serve
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import health

HealthSerializer = inline_serializer(
    "Health",
    {
        "status": serializers.CharField(),
        "database": serializers.CharField(),
        "storage": serializers.CharField(),
        "version": serializers.CharField(),
    },
)


class HealthView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: HealthSerializer, 503: HealthSerializer})
    def get(self, request: Request) -> Response:
        database = health.database_problem()
        storage = health.storage_problem()
        body = {
            "status": "ok" if not (database or storage) else "error",
            "database": database or "ok",
            "storage": storage or "ok",
            "version": settings.VERSION,
        }
        status = (
            HTTPStatus.OK if body["status"] == "ok" else HTTPStatus.SERVICE_UNAVAILABLE
        )
        return Response(body, status=status)


INLINE_SAFE_TYPES = {
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
    "text/csv",
}


def serve_asset(request: HttpRequest, path: str) -> HttpResponse:
    """Uploaded files from local disk (development); never rendered as a page."""
    response = static_serve(request, path, document_root=settings.MEDIA_ROOT)
    # A sandboxed document runs no script, even if markup ever slipped through.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    content_type = response.get("Content-Type", "").split(";")[0].strip()
    if content_type not in INLINE_SAFE_TYPES:
        response["Content-Disposition"] = "attachment"
    return response
