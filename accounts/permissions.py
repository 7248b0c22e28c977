from __future__ import annotations

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


def signed_in_user(request: HttpRequest) -> User:
    """`request.user`, for a view behind IsApproved or IsAdmin, or in the admin site:
    those refuse anonymous requests before the view runs, so it is never anonymous."""
    user = request.user
    assert isinstance(user, User)  # noqa: S101 (narrows the type; guaranteed above)
    return user
