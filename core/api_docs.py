"""The API docs pages, with templates of ours: CSP nonces, nothing from off the server."""

from __future__ import annotations

from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView


class SwaggerView(SpectacularSwaggerView):
    template_name = "core/swagger_ui.html"


class RedocView(SpectacularRedocView):
    template_name = "core/redoc.html"
