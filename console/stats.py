"""Figures for the admin dashboard, each from one aggregate query."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User
from resources.models import Resource, ResourceFile

SIGNUP_DAYS = 30


def _counts_by(field: str, choices: list[str]) -> dict[str, int]:
    rows = User.objects.order_by().values(field).annotate(n=Count("pk"))
    counts = dict.fromkeys(choices, 0)
    counts.update({row[field]: row["n"] for row in rows})
    return counts


def _signups_by_day(today: date) -> list[dict[str, Any]]:
    first = today - timedelta(days=SIGNUP_DAYS - 1)
    start = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    rows = (
        User.objects.filter(date_joined__gte=start)
        .annotate(day=TruncDate("date_joined"))
        .order_by()
        .values("day")
        .annotate(n=Count("pk"))
    )
    by_day = {row["day"]: row["n"] for row in rows}
    days = (first + timedelta(days=i) for i in range(SIGNUP_DAYS))
    return [{"date": day.isoformat(), "count": by_day.get(day, 0)} for day in days]


def admin_stats() -> dict[str, Any]:
    """Users by status and role, daily sign-ups for 30 days, resources and bytes stored."""
    today = timezone.localdate()
    return {
        "users_by_status": _counts_by("status", User.Status.values),
        "users_by_role": _counts_by("role", User.Role.values),
        "signups_last_30_days": _signups_by_day(today),
        "resources_total": Resource.objects.count(),
        "storage_bytes": ResourceFile.objects.aggregate(total=Sum("size"))["total"]
        or 0,
    }
