"""Reading the audit entry a flow must leave: one, about whom, holding no secret."""

from __future__ import annotations

import json
from typing import Any

from accounts.models import User
from core.models import ActivityLog


def only_entry(action: str, **metadata: Any) -> ActivityLog:
    """The one entry of the action (whose metadata has these values)."""
    entries = [
        entry
        for entry in ActivityLog.objects.filter(action=action)
        if all(entry.metadata.get(key) == value for key, value in metadata.items())
    ]
    assert len(entries) == 1, [entry.metadata for entry in entries]
    return entries[0]


def assert_about(entry: ActivityLog, user: User) -> None:
    """The user did it, to their own account."""
    assert entry.actor_id == user.pk
    assert (entry.target_type, entry.target_id) == ("user", str(user.pk))


def assert_holds_none_of(entry: ActivityLog, *secrets: str) -> None:
    logged = json.dumps(entry.metadata)
    for secret in secrets:
        assert secret
        assert secret not in logged
