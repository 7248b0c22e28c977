"""The admin API: users, access requests, the activity log, stats and migrations."""

from __future__ import annotations

from http import HTTPStatus

from django.contrib.auth.models import Group, Permission
from django.db.models import Prefetch
from django_filters.rest_framework import ChoiceFilter, FilterSet, UUIDFilter
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import groups as group_services
from accounts import services
from accounts.models import AccessRequest, User
from accounts.permissions import IsAdmin, signed_in_user
from console.serializers import (
    AccessRequestSerializer,
    ActivityLogSerializer,
    AdminUserCreateSerializer,
    AdminUserSerializer,
    AdminUserUpdateSerializer,
    ApproveSerializer,
    GroupSerializer,
    MigrationsAppliedSerializer,
    MigrationStatusSerializer,
    PermissionSerializer,
    RejectSerializer,
    StatsSerializer,
)
from console.stats import admin_stats
from core.models import ActivityLog
from core.schema import INVALID, NOT_AUTHENTICATED, NOT_FOUND, error
from core.selectors import by_or_about_user
from ops.migrations_service import migrations_apply, migrations_status

ADMIN_FORBIDDEN = error(
    "`permission_denied`: the caller is no admin; `mfa_enrollment_required`: with "
    "MFA_REQUIRED_FOR_ADMINS, an admin without two-factor sign-in."
)
ADMIN_ERRORS = {401: NOT_AUTHENTICATED, 403: ADMIN_FORBIDDEN}
NO_CONTENT = OpenApiResponse(description="No content")


@extend_schema_view(
    list=extend_schema(responses={200: AdminUserSerializer, **ADMIN_ERRORS}),
    retrieve=extend_schema(
        responses={200: AdminUserSerializer, **ADMIN_ERRORS, 404: NOT_FOUND}
    ),
)
class AdminUserViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [IsAdmin]
    serializer_class = AdminUserSerializer
    filterset_fields = ["status", "role"]
    search_fields = ["email", "full_name"]
    ordering_fields = ["date_joined", "email", "last_login", "status", "role"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        groups = Prefetch("groups", queryset=Group.objects.only("pk"))
        return User.objects.with_email_verified().prefetch_related(groups)

    @extend_schema(
        request=AdminUserCreateSerializer,
        responses={
            201: AdminUserSerializer,
            400: error("`invalid` or `email_taken`."),
            **ADMIN_ERRORS,
        },
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = AdminUserCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_invite(
            invited_by=signed_in_user(request), **serializer.validated_data
        )
        return Response(self._reloaded(user), status=HTTPStatus.CREATED)

    @extend_schema(
        request=AdminUserUpdateSerializer,
        responses={
            200: AdminUserSerializer,
            400: error(
                "`invalid` (also for an unknown group id or the admins group in "
                "`groups`); `last_admin` when it would demote or disable the last "
                "active admin."
            ),
            **ADMIN_ERRORS,
            404: NOT_FOUND,
        },
    )
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        user = self.get_object()
        serializer = AdminUserUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.user_update(
            user=user, updated_by=signed_in_user(request), **serializer.validated_data
        )
        return Response(self._reloaded(user))

    def _reloaded(self, user: User) -> dict:
        return AdminUserSerializer(self.get_queryset().get(pk=user.pk)).data


SYSTEM_GROUP_REFUSED = error(
    "`invalid`: the admins group (`system`) cannot be renamed, changed or deleted."
)


@extend_schema_view(
    list=extend_schema(responses={200: GroupSerializer, **ADMIN_ERRORS}),
    retrieve=extend_schema(
        responses={200: GroupSerializer, **ADMIN_ERRORS, 404: NOT_FOUND}
    ),
)
class AdminGroupViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Groups and what they grant; writes go through accounts.groups (audited)."""

    permission_classes = [IsAdmin]
    serializer_class = GroupSerializer
    filterset_fields: list[str] = []
    search_fields = ["name"]
    ordering_fields = ["name", "id"]
    ordering = ["name"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        permissions = Prefetch(
            "permissions", queryset=Permission.objects.select_related("content_type")
        )
        return Group.objects.prefetch_related(permissions).order_by("name")

    @extend_schema(
        responses={
            201: GroupSerializer,
            400: error("`invalid`: a taken `name`, an unknown permission."),
            **ADMIN_ERRORS,
        }
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        group = group_services.group_create(
            actor=signed_in_user(request), **serializer.validated_data
        )
        return Response(self._reloaded(group), status=HTTPStatus.CREATED)

    @extend_schema(
        responses={
            200: GroupSerializer,
            400: error(
                "`invalid`: a taken `name`, an unknown permission, or the admins group."
            ),
            **ADMIN_ERRORS,
            404: NOT_FOUND,
        }
    )
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        group = self.get_object()
        serializer = self.get_serializer(group, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        group = group_services.group_update(
            group=group, actor=signed_in_user(request), **serializer.validated_data
        )
        return Response(self._reloaded(group))

    @extend_schema(
        responses={
            204: NO_CONTENT,
            400: SYSTEM_GROUP_REFUSED,
            **ADMIN_ERRORS,
            404: NOT_FOUND,
        }
    )
    def destroy(self, request: Request, *args, **kwargs) -> Response:
        group_services.group_delete(
            group=self.get_object(), actor=signed_in_user(request)
        )
        return Response(status=HTTPStatus.NO_CONTENT)

    def _reloaded(self, group: Group) -> dict:
        return GroupSerializer(self.get_queryset().get(pk=group.pk)).data


class PermissionListView(ListAPIView):
    """What a group can grant, as "app_label.codename" (admins only)."""

    permission_classes = [IsAdmin]
    serializer_class = PermissionSerializer
    search_fields = ["codename", "name", "content_type__app_label"]
    ordering_fields: list[str] = []
    queryset = Permission.objects.select_related("content_type").order_by(
        "content_type__app_label", "codename"
    )


@extend_schema_view(
    list=extend_schema(responses={200: AccessRequestSerializer, **ADMIN_ERRORS}),
    retrieve=extend_schema(
        responses={200: AccessRequestSerializer, **ADMIN_ERRORS, 404: NOT_FOUND}
    ),
)
class AdminAccessRequestViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsAdmin]
    serializer_class = AccessRequestSerializer
    filterset_fields = ["status"]
    search_fields = ["user__email", "user__full_name", "reason"]
    ordering_fields = ["created_at", "decided_at", "status"]

    def get_queryset(self):
        return AccessRequest.objects.select_related("user", "decided_by")

    @extend_schema(
        request=ApproveSerializer,
        responses={
            200: AccessRequestSerializer,
            400: INVALID,
            **ADMIN_ERRORS,
            404: NOT_FOUND,
        },
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        serializer = ApproveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        access_request = services.access_request_approve(
            access_request=self.get_object(),
            decided_by=signed_in_user(request),
            **serializer.validated_data,
        )
        return Response(AccessRequestSerializer(self._reloaded(access_request)).data)

    @extend_schema(
        request=RejectSerializer,
        responses={
            200: AccessRequestSerializer,
            400: error("`invalid`; `last_admin` when it would reject the last admin."),
            **ADMIN_ERRORS,
            404: NOT_FOUND,
        },
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        serializer = RejectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        access_request = services.access_request_reject(
            access_request=self.get_object(),
            decided_by=signed_in_user(request),
            **serializer.validated_data,
        )
        return Response(AccessRequestSerializer(self._reloaded(access_request)).data)

    def _reloaded(self, access_request: AccessRequest) -> AccessRequest:
        return self.get_queryset().get(pk=access_request.pk)


class MigrationsView(APIView):
    """Lists and applies schema migrations, for hosts without a shell."""

    permission_classes = [IsAdmin]

    @extend_schema(
        request=None,
        responses={
            200: MigrationStatusSerializer,
            401: NOT_AUTHENTICATED,
            403: ADMIN_FORBIDDEN,
        },
    )
    def get(self, request: Request) -> Response:
        status = migrations_status()
        return Response(MigrationStatusSerializer(status).data)

    @extend_schema(
        request=None,
        responses={
            200: MigrationsAppliedSerializer,
            401: NOT_AUTHENTICATED,
            403: ADMIN_FORBIDDEN,
        },
    )
    def post(self, request: Request) -> Response:
        applied_now = migrations_apply(applied_by=signed_in_user(request))
        return Response({"applied_now": applied_now})


class ActivityLogFilter(FilterSet):
    user = UUIDFilter(method="filter_user", label="Entries by or about this user id")
    action = ChoiceFilter(choices=ActivityLog.Action.choices)

    class Meta:
        model = ActivityLog
        fields = ["user", "action"]

    def filter_user(self, queryset, name, value):
        return queryset.filter(by_or_about_user(value))


class ActivityLogView(ListAPIView):
    """The audit trail, newest first (admins only)."""

    permission_classes = [IsAdmin]
    serializer_class = ActivityLogSerializer
    filterset_class = ActivityLogFilter
    search_fields: list[str] = []
    ordering_fields = ["created_at"]
    queryset = ActivityLog.objects.select_related("actor")


class StatsView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        responses={200: StatsSerializer, 401: NOT_AUTHENTICATED, 403: ADMIN_FORBIDDEN}
    )
    def get(self, request: Request) -> Response:
        return Response(admin_stats())
