from __future__ import annotations

from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import signed_in_user
from core.schema import INVALID, NOT_AUTHENTICATED, PRECONDITION_FAILED
from settings_app import services
from settings_app.models import Preferences
from settings_app.serializers import PreferencesSerializer

ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200],
    description='The preferences\' version, e.g. `"7"`; send it back as `If-Match`.',
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Apply only if the preferences still have this `ETag` (or `*`); "
    "otherwise 412. Without it the write applies as it is.",
)
WRITE_ERRORS = {400: INVALID, 401: NOT_AUTHENTICATED, 412: PRECONDITION_FAILED}


def _expected_etags(request: Request) -> list[str] | None:
    """The tags that If-Match accepts, or None when any state will do."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    tags = parse_etags(header)
    return None if tags == ["*"] else tags


def _answer(preferences: Preferences) -> Response:
    return Response(
        PreferencesSerializer(preferences).data, headers={"ETag": preferences.etag}
    )


class PreferencesView(APIView):
    @extend_schema(
        parameters=[ETAG],
        responses={200: PreferencesSerializer, 401: NOT_AUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        return _answer(Preferences.objects.for_user(signed_in_user(request)))

    @extend_schema(
        request=PreferencesSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={200: PreferencesSerializer, **WRITE_ERRORS},
    )
    def put(self, request: Request) -> Response:
        return self._write(request, partial=False)

    @extend_schema(
        request=PreferencesSerializer(partial=True),
        parameters=[IF_MATCH, ETAG],
        responses={200: PreferencesSerializer, **WRITE_ERRORS},
    )
    def patch(self, request: Request) -> Response:
        return self._write(request, partial=True)

    def _write(self, request: Request, *, partial: bool) -> Response:
        serializer = PreferencesSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        preferences = services.preferences_update(
            user=signed_in_user(request),
            changes=serializer.validated_data,
            expected_etags=_expected_etags(request),
        )
        return _answer(preferences)


class PreferencesResetView(APIView):
    @extend_schema(
        request=None,
        parameters=[ETAG],
        responses={200: PreferencesSerializer, 401: NOT_AUTHENTICATED},
    )
    def post(self, request: Request) -> Response:
        return _answer(services.preferences_reset(user=signed_in_user(request)))
