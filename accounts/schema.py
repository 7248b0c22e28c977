"""OpenAPI: document SessionJWTAuthentication as the bearer scheme ("Authorize").

An external identity provider's tokens (ExternalJWTAuthentication) travel in the
same `Authorization: Bearer <JWT>` header, so they add no scheme of their own."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class SessionJWTScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.SessionJWTAuthentication"
    name = "bearerAuth"


class ExternalJWTScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ExternalJWTAuthentication"
    name: list[str] = []  # no component: SessionJWTScheme's bearerAuth covers it

    def get_security_requirement(self, auto_schema):  # type: ignore[no-untyped-def]
        return None

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return []
