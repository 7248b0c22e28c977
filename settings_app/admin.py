from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from settings_app.models import Preferences

# A tuple, which both options' types accept (a list is one or the other).
SHOWN_FIELDS = ("user", *Preferences.FIELDS, "version", "updated_at")


@admin.register(Preferences)
class PreferencesAdmin(admin.ModelAdmin):
    """Read-only: a write here would bypass the version bump that the ETag relies on."""

    list_display = [
        "user_email",
        "theme",
        "language",
        "timezone",
        "items_per_page",
        "updated_at",
    ]
    list_filter = ["theme"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    fields = readonly_fields = SHOWN_FIELDS

    @admin.display(description="user", ordering="user__email")
    def user_email(self, preferences: Preferences) -> str:
        return preferences.user.email

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # rows are created on first read

    def has_change_permission(
        self, request: HttpRequest, obj: Preferences | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: Preferences | None = None
    ) -> bool:
        return False  # a recreated row would restart at version 1 and reuse old ETags
