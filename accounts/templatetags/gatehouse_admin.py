"""Template tags for the Django admin's pages."""

from __future__ import annotations

from allauth.socialaccount.adapter import get_adapter
from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def google_login_configured(context: template.Context) -> bool:
    """Whether a Google app is configured (in settings or the database) right now."""
    return bool(get_adapter().list_apps(context.get("request"), provider="google"))
