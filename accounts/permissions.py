from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.views import APIView


class IsApproved(BasePermission):
    """Allows access only to signed-in users whose sign-up an admin has approved."""

    message = "Your account is awaiting approval."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_approved)


class IsAdmin(BasePermission):
    """Allows access only to approved users with the admin role."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(
            user and user.is_authenticated and user.is_approved and user.is_admin
        )
