from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from accounts.views import InvitationAcceptPage
from accounts.web_mfa import admin_login
from core import views as core_views
from core.api_docs import RedocView, SwaggerView
from core.errors import api_not_found
from core.metrics import metrics
from core.throttling import admin_login_throttled
from resources.views import PublicResourceView

api_v1: list[URLPattern | URLResolver] = [
    path("health/", core_views.HealthView.as_view(), name="health"),
    path("auth/", include(("accounts.urls", "auth"))),
    path("admin/", include(("console.urls", "admin-api"))),
    path("resources/", include(("resources.urls", "resources"))),
    path(
        "public/resources/<str:token>/",
        PublicResourceView.as_view(),
        name="public-resource",
    ),
    path("settings/", include(("settings_app.urls", "settings"))),
    path("migrate/", include(("console.migrate_urls", "migrate"))),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]

urlpatterns = [
    path("", core_views.StartPageView.as_view(), name="start"),
    # The same probe outside /api/, for load balancers; documented once, under /api/v1/.
    path("health", core_views.HealthView.as_view(schema=None), name="health"),
    path("metrics", metrics, name="metrics"),  # Prometheus; METRICS_TOKEN as bearer
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("docs", SwaggerView.as_view(url_name="v1:schema"), name="swagger-ui"),
    path("redoc", RedocView.as_view(url_name="v1:schema"), name="redoc"),
    # Matched before the admin's own login URL: its form, behind the throttles, then
    # allauth's login stages (the second factor) before the admin opens.
    path("admin/login/", admin_login_throttled(admin_login)),
    path("admin/", admin.site.urls),
    path(
        "accounts/invitation/<str:uid>/<str:token>/",
        InvitationAcceptPage.as_view(),
        name="invitation-accept",
    ),
    path("accounts/", include("allauth.urls")),
]

# Local files, and image variants of any storage's files (core/image_variants.py).
urlpatterns.append(re_path(r"^assets/(?P<path>.+)$", core_views.serve_asset))
# Last: any other path under /api/ is a JSON 404, with DEBUG on too.
urlpatterns.append(re_path(r"^api/(?P<unmatched>.*)$", api_not_found))

handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.not_found"
handler500 = "core.errors.server_error"
