from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from core import views as core_views

api_v1 = [
    path("health/", core_views.HealthView.as_view(), name="health"),
    path("auth/", include(("accounts.urls", "auth"))),
    path("admin/", include(("accounts.admin_urls", "admin-api"))),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]

urlpatterns = [
    # The same probe outside /api/, for load balancers; documented once, under /api/v1/.
    path("health", core_views.HealthView.as_view(schema=None), name="health"),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path(
        "docs", SpectacularSwaggerView.as_view(url_name="v1:schema"), name="swagger-ui"
    ),
    path("redoc", SpectacularRedocView.as_view(url_name="v1:schema"), name="redoc"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
]

if settings.DEBUG or not settings.IS_PRODUCTION:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler404 = "core.errors.not_found"
handler500 = "core.errors.server_error"
