"""The Swagger UI page, rendered so its inline script carries the request's CSP nonce."""

from __future__ import annotations

from drf_spectacular.views import SpectacularSwaggerView


class SwaggerView(SpectacularSwaggerView):
    template_name = "core/swagger_ui.html"
