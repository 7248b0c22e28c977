"""Preference writes: each locks the user's row and bumps its version (the ETag)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from django.db import transaction

from accounts.models import User
from core.errors import PreconditionFailed
from settings_app.models import Preferences, notifications_merged


def _locked_for_user(user: User) -> Preferences:
    # The lock is what lets concurrent writes of different keys all survive:
    # each one merges into the row as the previous writer committed it.
    try:
        return Preferences.objects.select_for_update().get(user=user)
    except Preferences.DoesNotExist:
        Preferences.objects.for_user(user)
        return Preferences.objects.select_for_update().get(user=user)


@transaction.atomic
def preferences_update(
    *,
    user: User,
    changes: Mapping[str, Any],
    expected_etags: Collection[str] | None = None,
) -> Preferences:
    """Applies the given preferences only, merging `notifications` into the stored switches."""
    unknown = set(changes) - set(Preferences.FIELDS)
    if unknown:
        raise ValueError(f"Not preferences: {sorted(unknown)}")
    preferences = _locked_for_user(user)
    if expected_etags is not None and preferences.etag not in expected_etags:
        raise PreconditionFailed()
    if not changes:
        return preferences
    for name, value in changes.items():
        if name == "notifications":
            value = notifications_merged(preferences.notifications, value)
        setattr(preferences, name, value)
    preferences.version += 1  # safe: the row is locked until this commits
    preferences.save(update_fields=[*changes, "version", "updated_at"])
    return preferences


def preferences_reset(*, user: User) -> Preferences:
    """Sets every preference back to its default."""
    return preferences_update(user=user, changes=Preferences.defaults())
