"""Template tags for the Django admin's pages."""

from __future__ import annotations

from allauth.socialaccount.adapter import get_adapter
from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def google_login_configured(context: template.Context) -> bool:
    """Whether a Google app is configured (in settings or the database) right now."""
    return bool(get_adapter().list_apps(context.get("request"), provider="google"))


@register.simple_tag
def pending_access_request_count() -> int:
    """Open access requests: what the console's index links to, in one COUNT."""
    from accounts.models import AccessRequest

    return AccessRequest.objects.filter(status=AccessRequest.Status.PENDING).count()


@register.simple_tag
def approval_console_stats() -> dict:
    """The admin dashboard's figures (the same as GET /api/v1/admin/stats/)."""
    from console.stats import admin_stats

    return admin_stats()
