from __future__ import annotations

import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from core.request_id import HEADER as REQUEST_ID_HEADER
from core.request_id import (
    bind_request_id,
    request_id_from_header,
    unbind_request_id,
)


class OptionalTrailingSlashMiddleware:
    """Routes `/api/.../x` as `/api/.../x/`, so a POST body is never lost to a redirect."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/api/") and not request.path_info.endswith(
            "/"
        ):
            request.path_info += "/"
            request.path += "/"
        return self.get_response(request)


class RequestIdMiddleware:
    """Gives each request an id for its log lines and answers it in X-Request-ID.

    The caller's X-Request-ID is kept when it is a sane token, so one id can follow
    a request from a proxy or frontend through to these logs.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from_header(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        token = bind_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            unbind_request_id(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


def _policy(**directives: str) -> str:
    base = {
        "default_src": "'self'",
        "object_src": "'none'",
        "base_uri": "'self'",
        "form_action": "'self'",
        "frame_ancestors": "'none'",
    }
    return "; ".join(
        f"{name.replace('_', '-')} {value}"
        for name, value in {**base, **directives}.items()
    )


# Each page gets exactly what it loads: everything is served from here (admin
# static files, drf-spectacular-sidecar), so no CDN is allowed.
CSP_ADMIN = _policy(
    img_src="'self' data:",
    # allauth's "Sign in with Google" form redirects there; form-action covers it.
    form_action="'self' https://accounts.google.com",
)
# Swagger UI's inline init script embeds the CSRF token, so it differs per request:
# a nonce, not a hash. Its CSS uses data: images; image responses show as blob:.
CSP_SWAGGER = _policy(
    script_src="'self' 'nonce-{nonce}'",
    style_src="'self' 'nonce-{nonce}'",
    img_src="'self' data: blob:",
)
# ReDoc styles itself with styled-components, which inserts <style> elements at
# run time without a nonce: 'unsafe-inline' styles (never scripts) on this page
# only. Its search runs in a web worker made from a blob: URL; its template links
# the Montserrat and Roboto fonts from Google Fonts, and its "API docs by Redocly"
# footer shows a logo from Redocly's CDN.
CSP_REDOC = _policy(
    style_src="'self' 'unsafe-inline' https://fonts.googleapis.com",
    font_src="'self' https://fonts.gstatic.com",
    img_src="'self' data: https://cdn.redoc.ly",
    worker_src="'self' blob:",
)
CSP_BY_PAGE = {"/docs": CSP_SWAGGER, "/redoc": CSP_REDOC}


def content_security_policy_for(path_info: str) -> str | None:
    if path_info.startswith("/admin/"):
        return CSP_ADMIN
    return CSP_BY_PAGE.get(path_info.rstrip("/"))


class ContentSecurityPolicyMiddleware:
    """Sets a Content-Security-Policy on the HTML of the admin and the API docs.

    Django 5.2 has no CSP support (6.0 adds it); the API itself answers JSON, so
    only these pages need a policy. `request.csp_nonce` is for inline scripts.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        policy = content_security_policy_for(request.path_info)
        if policy is None:
            return self.get_response(request)
        nonce = secrets.token_urlsafe(18)
        request.csp_nonce = nonce
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith(
            "text/html"
        ) and not response.has_header("Content-Security-Policy"):
            response["Content-Security-Policy"] = policy.replace("{nonce}", nonce)
        return response
