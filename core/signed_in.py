"""The user of a request that a sign-in check has already let through."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.models import User


def signed_in_user(request: HttpRequest) -> User:
    """`request.user`, for a view behind IsApproved or IsAdmin, or in the admin site:
    those refuse anonymous requests before the view runs, so it is never anonymous."""
    user = request.user
    assert isinstance(user, User)  # noqa: S101 (narrows the type; guaranteed above)
    return user
