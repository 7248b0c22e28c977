from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
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
