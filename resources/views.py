from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, cast

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import HasPermission, IsApproved, signed_in_user
from core.schema import (
    FILE_TOO_LARGE,
    INVALID,
    NOT_AUTHENTICATED,
    NOT_FOUND,
    STORAGE_FAILED,
    UNSUPPORTED_FILE_TYPE,
    error,
)
from core.throttling import FixedWindowThrottle
from resources import services
from resources.models import Resource
from resources.selectors import resource_files_by_resource, resource_rows
from resources.serializers import (
    PublicResourceSerializer,
    ResourceCreateSerializer,
    ResourceFileSerializer,
    ResourceSerializer,
    ShareSerializer,
    UploadSerializer,
    UploadUrlSerializer,
    created_resource_json,
    resource_rows_json,
    share_url_for,
)

NO_CONTENT = OpenApiResponse(description="No content")
# Every operation needs a bearer token; one on another user's resource is 404.
SIGNED_IN = {401: NOT_AUTHENTICATED}
OWN = {**SIGNED_IN, 404: NOT_FOUND}
URL_NOT_ALLOWED = error(
    "`url_not_allowed`: not http(s), a port not in `UPLOAD_URL_ALLOWED_PORTS`, "
    "credentials in the URL, a host that is not public, or more than 3 redirects; "
    "`invalid` for a malformed body."
)
URL_FETCH_FAILED = error(
    "`url_fetch_failed`: the host did not resolve, connect or answer 2xx, or the "
    "file did not arrive within `UPLOAD_URL_TIMEOUT`; nothing is kept."
)


class UploadUrlUserThrottle(FixedWindowThrottle):
    """Uploads by URL per user: each one makes the server fetch from the web."""

    scope = "upload_url_user"

    def ident(self, request: Any) -> str | None:
        user = getattr(request, "user", None)
        return f"user:{user.pk}" if user and user.is_authenticated else None


PERMISSION_DENIED_SHARE = error(
    "`permission_denied`: with SHARE_REQUIRES_PERMISSION, a caller without "
    "`resources.share_resource` (admins have it)."
)


@extend_schema_view(
    list=extend_schema(responses={200: ResourceSerializer(many=True), **SIGNED_IN}),
    create=extend_schema(
        responses={201: ResourceSerializer, 400: INVALID, **SIGNED_IN}
    ),
    retrieve=extend_schema(responses={200: ResourceSerializer, **OWN}),
    partial_update=extend_schema(
        responses={200: ResourceSerializer, 400: INVALID, **OWN}
    ),
    destroy=extend_schema(responses={204: NO_CONTENT, **OWN}),
)
class ResourceViewSet(viewsets.ModelViewSet):
    serializer_class = ResourceSerializer
    filterset_fields = ["status"]
    search_fields = ["title", "description"]
    ordering_fields = ["created_at", "updated_at", "title"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Resource.objects.none()
        owned = Resource.objects.owned_by(self.request.user)
        if self.action == "list":  # its SQL joins the owner and reads files itself
            return owned
        return owned.select_related("owner").prefetch_related("files")

    def list(self, request: Request, *args, **kwargs) -> Response:
        # Rows, not instances: the same JSON as ResourceSerializer, a page of
        # 100 at a third of the CPU (bench/profile_paths.py).
        queryset = self.filter_queryset(self.get_queryset())
        # cast: the paginator needs only count() and slices, which ResourceRows has.
        rows = self.paginate_queryset(cast("Sequence[tuple]", resource_rows(queryset)))
        assert rows is not None  # noqa: S101 (DEFAULT_PAGINATION_CLASS pages lists)
        # row[0]: the resource's id (RESOURCE_COLUMNS).
        files = resource_files_by_resource(resource_ids=[row[0] for row in rows])
        data = resource_rows_json(rows, files, request=request)
        return self.get_paginated_response(data)

    def create(self, request: Request, *args, **kwargs) -> Response:
        # ResourceSerializer's rules and JSON without building its fields twice
        # (input and output): a create at about half the CPU (bench/profile_paths.py).
        serializer = ResourceCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        resource = services.resource_create(
            owner=signed_in_user(request), **serializer.validated_data
        )
        data = created_resource_json(resource, request=request)
        return Response(data, status=HTTPStatus.CREATED)

    def perform_update(self, serializer: BaseSerializer) -> None:
        resource = serializer.instance
        assert isinstance(resource, Resource)  # noqa: S101 (an update has its object)
        serializer.instance = services.resource_update(
            resource=resource, **serializer.validated_data
        )

    def perform_destroy(self, instance: Resource) -> None:
        services.resource_delete(resource=instance, actor=signed_in_user(self.request))

    @extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses={
            201: ResourceFileSerializer,
            400: INVALID,
            **OWN,
            413: FILE_TOO_LARGE,
            415: UNSUPPORTED_FILE_TYPE,
            **STORAGE_FAILED,
        },
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def upload(self, request: Request, pk: str | None = None) -> Response:
        resource = self.get_object()
        serializer = UploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        resource_file = services.resource_file_add(
            resource=resource, upload=serializer.validated_data["file"]
        )
        data = ResourceFileSerializer(
            resource_file, context=self.get_serializer_context()
        ).data
        return Response(data, status=HTTPStatus.CREATED)

    @extend_schema(
        request=UploadUrlSerializer,
        responses={
            201: ResourceFileSerializer,
            400: URL_NOT_ALLOWED,
            **OWN,
            413: FILE_TOO_LARGE,
            415: UNSUPPORTED_FILE_TYPE,
            502: URL_FETCH_FAILED,
            **STORAGE_FAILED,
        },
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="upload-url",
        throttle_classes=[UploadUrlUserThrottle],
    )
    def upload_url(self, request: Request, pk: str | None = None) -> Response:
        resource = self.get_object()
        serializer = UploadUrlSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        resource_file = services.resource_file_add_from_url(
            resource=resource, **serializer.validated_data
        )
        data = ResourceFileSerializer(
            resource_file, context=self.get_serializer_context()
        ).data
        return Response(data, status=HTTPStatus.CREATED)

    @extend_schema(
        request=None,
        responses={204: NO_CONTENT, **OWN},
        parameters=[
            OpenApiParameter("file_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
        ],
    )
    @action(detail=True, methods=["delete"], url_path=r"files/(?P<file_id>[^/.]+)")
    def delete_file(
        self, request: Request, pk: str | None = None, file_id: str | None = None
    ) -> Response:
        resource = self.get_object()
        resource_file = get_object_or_404(resource.files.all(), pk=file_id)
        services.resource_file_delete(resource_file=resource_file)
        return Response(status=HTTPStatus.NO_CONTENT)

    @extend_schema(
        request=None,
        responses={
            201: ShareSerializer,
            403: PERMISSION_DENIED_SHARE,
            **OWN,
        },
    )
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[
            IsApproved,
            HasPermission(
                "resources.share_resource",
                methods=["POST"],  # revoking a link (DELETE) needs no permission
                setting="SHARE_REQUIRES_PERMISSION",
            ),
        ],
    )
    def share(self, request: Request, pk: str | None = None) -> Response:
        token = services.resource_share(
            resource=self.get_object(), actor=signed_in_user(request)
        )
        body = {"share_url": share_url_for(request, token), "token": token}
        return Response(body, status=HTTPStatus.CREATED)

    @extend_schema(request=None, responses={204: NO_CONTENT, **OWN})
    @share.mapping.delete
    def unshare(self, request: Request, pk: str | None = None) -> Response:
        services.resource_unshare(
            resource=self.get_object(), actor=signed_in_user(request)
        )
        return Response(status=HTTPStatus.NO_CONTENT)

    @extend_schema(request=None, responses={200: ResourceSerializer, **OWN})
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str | None = None) -> Response:
        return self._set_status(Resource.Status.ARCHIVED)

    @extend_schema(request=None, responses={200: ResourceSerializer, **OWN})
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str | None = None) -> Response:
        return self._set_status(Resource.Status.ACTIVE)

    def _set_status(self, status: str) -> Response:
        resource = services.resource_set_status(
            resource=self.get_object(), status=status
        )
        return Response(self.get_serializer(resource).data)


class PublicResourceView(APIView):
    """A shared resource, for anyone holding its link."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: PublicResourceSerializer, 404: NOT_FOUND})
    def get(self, request: Request, token: str) -> Response:
        # Links stop working with the owner's approval (deletion takes the rows).
        resource = get_object_or_404(
            Resource.objects.prefetch_related("files"),
            share_token=token,
            owner__status=User.Status.APPROVED,
        )
        return Response(
            PublicResourceSerializer(resource, context={"request": request}).data
        )
