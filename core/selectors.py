"""Non-trivial reads of core data."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from core.models import ActivityLog


def by_or_about_user(user_id: uuid.UUID | str) -> Q:
    """Audit entries that the user did, or that were done to the user."""
    return Q(actor_id=user_id) | Q(target_type="user", target_id=str(user_id))


def activity_for_user(*, user_id: uuid.UUID | str) -> QuerySet[ActivityLog]:
    """Audit entries by or about one user, newest first, with their actors."""
    return (
        ActivityLog.objects.filter(by_or_about_user(user_id))
        .select_related("actor")
        .order_by("-created_at", "-id")
    )
