"""One JSON error shape for every path under /api/: {"detail", "code", "errors"?}."""

from __future__ import annotations

import logging
import sys
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)

# What a database that is down, restarting or unreachable raises: psycopg's
# connection and server-shutdown errors arrive as these. Each answers 503 with
# Retry-After, as a locked SQLite file (an OperationalError too) should.
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)


class ApiError(exceptions.APIException):
    """An error with a stable machine code; `errors` optionally names fields."""

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(detail=detail, code=code)
        self.code = code or self.default_code
        self.errors = errors


def _first_message(errors: Any) -> str:
    if isinstance(errors, dict):
        for value in errors.values():
            return _first_message(value)
    if isinstance(errors, list) and errors:
        return _first_message(errors[0])
    return str(errors)


def _as_field_errors(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return {key: _as_list(value) for key, value in detail.items()}
    return {"non_field_errors": _as_list(detail)}


def _as_list(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _as_list(item) for key, item in value.items()}
    if isinstance(value, list):
        return [item if isinstance(item, dict) else str(item) for item in value]
    return [str(value)]


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DATABASE_UNAVAILABLE_ERRORS):
        database_unavailable_log(exc)
        exc = DatabaseUnavailable()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    # Imported here: rest_framework.views reads the API settings, which name
    # authentication classes that import this module.
    from rest_framework.views import exception_handler

    response = exception_handler(exc, context)
    # It answers APIExceptions only (Http404 and PermissionDenied became ones above):
    # the isinstance() narrows the type, it turns nothing away.
    if response is None or not isinstance(exc, exceptions.APIException):
        return response

    if isinstance(exc, exceptions.ValidationError):
        errors = _as_field_errors(exc.detail)
        body = {"detail": _first_message(errors), "code": "invalid", "errors": errors}
    else:
        detail: Any = exc.detail
        if isinstance(detail, dict):  # simplejwt nests {"detail", "code", "messages"}
            detail = detail.get("detail", _first_message(detail))
        code = getattr(exc, "code", None) or _code_of(exc)
        body = {"detail": str(detail), "code": code}
        if listed_errors := getattr(exc, "errors", None):
            body["errors"] = listed_errors
    response.data = body
    return response


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return exc.default_code


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def json_error(status: HTTPStatus, code: str, detail: str) -> JsonResponse:
    """The error shape, for answers made outside DRF's exception handler."""
    return JsonResponse({"detail": detail, "code": code}, status=status)


def api_not_found_response() -> JsonResponse:
    return json_error(HTTPStatus.NOT_FOUND, "not_found", "Not found.")


def database_unavailable_log(exc: BaseException) -> None:
    logger.warning("Database unavailable: %s", exc)


def database_unavailable_response() -> JsonResponse:
    response = json_error(
        HTTPStatus.SERVICE_UNAVAILABLE,
        DatabaseUnavailable.default_code,
        str(DatabaseUnavailable.default_detail),
    )
    response["Retry-After"] = str(DatabaseUnavailable.wait)
    return response


def api_server_error_response() -> JsonResponse:
    return json_error(
        HTTPStatus.INTERNAL_SERVER_ERROR, "server_error", "Internal server error."
    )


@csrf_exempt  # answers 404 to every method; a CSRF 403 would hide that
def api_not_found(request: HttpRequest, unmatched: str = "") -> HttpResponse:
    """The last route under /api/: a Resolver404 would get Django's HTML with DEBUG."""
    return api_not_found_response()


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return api_not_found_response()
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    # Reached for errors raised outside any view too (DisallowedHost in middleware).
    if is_api(request):
        return json_error(HTTPStatus.BAD_REQUEST, "invalid", "Bad request.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return json_error(
            HTTPStatus.FORBIDDEN,
            "permission_denied",
            "You do not have permission to perform this action.",
        )
    return defaults.permission_denied(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # Reached for errors raised outside any view (in middleware), still handling it.
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE_ERRORS):
        return database_unavailable_response()
    if is_api(request):
        return api_server_error_response()
    return defaults.server_error(request)


class FileTooLarge(ApiError):
    status_code = 413
    default_code = "file_too_large"
    default_detail = "The file is larger than the upload limit."


class UnsupportedFileType(ApiError):
    status_code = 415
    default_code = "unsupported_file_type"
    default_detail = "This kind of file is not accepted."


class PreconditionFailed(ApiError):
    status_code = 412
    default_code = "precondition_failed"
    default_detail = "The resource changed since it was read; fetch it again and retry."


class ServiceUnavailable(ApiError):
    """503: a service we depend on did not answer; `wait` goes out as Retry-After."""

    status_code = 503
    default_code = "service_unavailable"
    default_detail = "A service this request needs did not answer; try again shortly."
    wait = 5  # DRF's handler sends it as Retry-After (seconds)


class DatabaseUnavailable(ServiceUnavailable):
    default_detail = "The database is unavailable; try again shortly."
    wait = 1


class StorageUnavailable(ServiceUnavailable):
    default_detail = "File storage did not answer; the file was not stored. Try again."


class InsufficientStorage(ApiError):
    status_code = 507
    default_code = "insufficient_storage"
    default_detail = "File storage is full; the file was not stored."
