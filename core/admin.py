from django.contrib import admin
from django.http import HttpRequest

from core.models import ActivityLog, FileDeletion


@admin.register(ActivityLog)
class ActivityLogAdmin(admin.ModelAdmin):
    """The audit trail: readable, never edited."""

    list_display = ["created_at", "action", "actor", "target_type", "target_id", "ip"]
    list_filter = ["action", "created_at", ("actor", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["target_id", "actor__email", "ip"]
    list_select_related = ["actor"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(FileDeletion)
class FileDeletionAdmin(admin.ModelAdmin):
    list_display = ["path", "created_at", "attempts", "last_error"]
    readonly_fields = ["path", "created_at", "attempts", "last_error"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
