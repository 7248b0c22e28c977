from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.errors import MfaEnrollmentRequired
from accounts.mfa import user_has_mfa
from accounts.models import User

if TYPE_CHECKING:
    from rest_framework.views import APIView


class IsApproved(BasePermission):
    """Allows access only to signed-in users whose sign-up an admin has approved."""

    message = "Your account is awaiting approval."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_approved)


class IsAdmin(BasePermission):
    """Allows access only to approved users with the admin role (and, with
    MFA_REQUIRED_FOR_ADMINS, two-factor sign-in on: 403 mfa_enrollment_required)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (
            isinstance(user, User)
            and user.is_authenticated
            and user.is_approved
            and user.is_admin
        ):
            return False
        if settings.MFA_REQUIRED_FOR_ADMINS and not user_has_mfa(user):
            raise MfaEnrollmentRequired()
        return True


class HasPermission(BasePermission):
    """Allows approved users holding a permission ("app_label.codename"; admins
    hold every one), read from the request's one-query user load, not queried.

    Named in one line: `permission_classes = [HasPermission("app.codename")]`;
    `methods` limits it to those, `setting` to when that setting is true.
    """

    reads_user_access = True  # the session query brings the user's permissions

    def __init__(
        self,
        permission: str,
        *,
        methods: Iterable[str] | None = None,
        setting: str | None = None,
    ) -> None:
        self.permission = permission
        self.methods = None if methods is None else {m.upper() for m in methods}
        self.setting = setting
        self.message = f"This needs the permission {permission}."

    def __call__(self) -> HasPermission:
        # DRF instantiates each entry of permission_classes; this one is ready.
        return self

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (isinstance(user, User) and user.is_authenticated and user.is_approved):
            return False
        if self.methods is not None and request.method not in self.methods:
            return True
        if self.setting is not None and not getattr(settings, self.setting):
            return True
        return user.has_perm(self.permission)


def signed_in_user(request: HttpRequest) -> User:
    """`request.user`, for a view behind IsApproved or IsAdmin, or in the admin site:
    those refuse anonymous requests before the view runs, so it is never anonymous."""
    user = request.user
    assert isinstance(user, User)  # noqa: S101 (narrows the type; guaranteed above)
    return user
