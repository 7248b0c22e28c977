from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.core.signals import got_request_exception
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.log import log_response

from core.errors import (
    DATABASE_UNAVAILABLE_ERRORS,
    api_not_found_response,
    api_server_error_response,
    database_unavailable_log,
    database_unavailable_response,
    is_api,
    json_error,
)
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
        # An attribute HttpRequest does not declare, hence setattr().
        setattr(request, "request_id", request_id)  # noqa: B010
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
# only. Its search runs in a web worker made from a blob: URL. Its template is
# ours, without Google Fonts; the "API docs by Redocly" footer's logo from
# Redocly's CDN is blocked here, and ReDoc drops the image when it fails.
CSP_REDOC = _policy(
    style_src="'self' 'unsafe-inline'",
    img_src="'self' data:",
    worker_src="'self' blob:",
)
CSP_BY_PAGE = {"/docs": CSP_SWAGGER, "/redoc": CSP_REDOC}


# allauth's pages that the admin's sign-in passes through, in the admin's look.
ADMIN_SIGN_IN_PAGES = ("/admin/", "/accounts/2fa/", "/accounts/reauthenticate/")


def content_security_policy_for(path_info: str) -> str | None:
    if path_info.startswith(ADMIN_SIGN_IN_PAGES):
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
        # For the templates; an attribute HttpRequest does not declare.
        setattr(request, "csp_nonce", nonce)  # noqa: B010
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith(
            "text/html"
        ) and not response.has_header("Content-Security-Policy"):
            response["Content-Security-Policy"] = policy.replace("{nonce}", nonce)
        return response


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # as Django reads it: the body is then never read


def _size(limit: int) -> str:
    megabyte = 1024 * 1024
    return f"{limit / megabyte:g} MB" if limit >= megabyte else f"{limit / 1024:g} KB"


class RequestBodyLimitMiddleware:
    """Refuses a body under /api/ declared over MAX_JSON_BODY, before reading it.

    DRF's parsers read the whole stream, past DATA_UPLOAD_MAX_MEMORY_SIZE.
    Multipart bodies are left to MAX_UPLOAD_SIZE and core.uploads, which
    streams them to disk.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            is_api(request)
            and _declared_length(request) > settings.MAX_JSON_BODY
            and (request.content_type or "").lower() != "multipart/form-data"
        ):
            return json_error(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                "payload_too_large",
                f"The request body is larger than {_size(settings.MAX_JSON_BODY)}.",
            )
        return self.get_response(request)


class ApiExceptionMiddleware:
    """Answers an exception a view under /api/ raised as JSON, whatever DEBUG says.

    With DEBUG on, Django would answer its technical page, which shows settings
    and the environment. Errors are still signalled (Sentry listens) and logged
    as Django would have. A database that is down answers 503 on every path.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        if settings.DEBUG_PROPAGATE_EXCEPTIONS:
            return None
        if isinstance(exception, DATABASE_UNAVAILABLE_ERRORS):
            database_unavailable_log(exception)
            return database_unavailable_response()
        if not is_api(request):
            return None
        if isinstance(exception, Http404):
            return api_not_found_response()
        if isinstance(exception, PermissionDenied):
            return json_error(
                HTTPStatus.FORBIDDEN,
                "permission_denied",
                "You do not have permission to perform this action.",
            )
        if isinstance(
            exception, (BadRequest, SuspiciousOperation, MultiPartParserError)
        ):
            if isinstance(exception, SuspiciousOperation):
                logging.getLogger(
                    f"django.security.{exception.__class__.__name__}"
                ).error(
                    str(exception),
                    exc_info=exception,
                    extra={"status_code": 400, "request": request},
                )
            return json_error(HTTPStatus.BAD_REQUEST, "invalid", "Bad request.")
        got_request_exception.send(sender=None, request=request)
        response = api_server_error_response()
        log_response(
            "%s: %s",
            response.reason_phrase,
            request.path,
            response=response,
            request=request,
            exception=exception,
        )
        return response
