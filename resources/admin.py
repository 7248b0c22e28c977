from django.contrib import admin

from resources.models import Resource, ResourceFile


class ResourceFileInline(admin.TabularInline):
    model = ResourceFile
    fields = ["name", "content_type", "size", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "status", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["title", "description", "owner__email"]
    list_select_related = ["owner"]
    readonly_fields = ["owner", "share_token", "created_at", "updated_at"]
    inlines = [ResourceFileInline]
