from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.permissions import signed_in_user
from resources import services
from resources.models import Resource, ResourceFile

# A tuple, which both options' types accept (a list is one or the other).
FILE_FIELDS = ("name", "content_type", "size", "created_at")


class ResourceFileInline(admin.TabularInline):
    model = ResourceFile
    fields = readonly_fields = FILE_FIELDS
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

    def delete_model(self, request: HttpRequest, obj: Resource) -> None:
        services.resource_delete(resource=obj, actor=signed_in_user(request))

    def delete_queryset(
        self, request: HttpRequest, queryset: QuerySet[Resource]
    ) -> None:
        for resource in queryset:
            services.resource_delete(resource=resource, actor=signed_in_user(request))
