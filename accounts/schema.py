"""OpenAPI: document SessionJWTAuthentication as the bearer scheme ("Authorize")."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class SessionJWTScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.SessionJWTAuthentication"
    name = "bearerAuth"
