"""OpenAPI: the documented error responses, all with the shared error body."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny
from rest_framework.settings import api_settings

from core.serializers import ErrorSerializer


def error(description: str) -> OpenApiResponse:
    """An error response with the shared `{"detail", "code", "errors"?}` body."""
    return OpenApiResponse(ErrorSerializer, description=description)


INVALID = error("`invalid`: `errors` lists the problems of each field.")
NOT_AUTHENTICATED = error(
    "`not_authenticated`, `authentication_failed` or `token_not_valid`: no valid "
    "bearer token, or its session has ended."
)
PERMISSION_DENIED = error("`permission_denied`: the caller's role forbids this.")
NOT_FOUND = error("`not_found`.")
THROTTLED = error("`throttled`: too many attempts; retry after `Retry-After` seconds.")
SIGN_IN_REFUSED = error(
    "`approval_pending`, `access_rejected` or `account_disabled`: the account may "
    "not sign in."
)
FILE_TOO_LARGE = error("`file_too_large`: over `MAX_UPLOAD_SIZE` (10 MB by default).")
UNSUPPORTED_FILE_TYPE = error(
    "`unsupported_file_type`: the file's bytes are not an accepted type, whatever its name."
)
PRECONDITION_FAILED = error(
    "`precondition_failed`: `If-Match` names none of the current `ETag`s; GET again "
    "and retry."
)
# Every upload endpoint answers these when the file cannot be stored; nothing is kept.
STORAGE_FAILED = {
    503: error(
        "`service_unavailable`: file storage failed or timed out; retry after "
        "`Retry-After` seconds."
    ),
    507: error("`insufficient_storage`: the server's disk is full."),
}

PAYLOAD_TOO_LARGE = error(
    "`payload_too_large`: the body declares more than its cap (`MAX_JSON_BODY`)."
)
UNSUPPORTED_MEDIA_TYPE = error(
    "`unsupported_media_type`: the body is not of a content type listed here."
)
PAGE_NOT_FOUND = error("`not_found`: there is no such page.")


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, plus the errors every operation of a kind can answer.

    A view documents its own errors; what any view answers by its shape (401
    without a token, 404 for an unknown id or page, 400 for a malformed query,
    413 and 415 for a body, 429 when throttled) is added here, once, so the schema
    lists every status the API sends.
    """

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        for parameter in operation.get("parameters", []):
            # django-filter, search, ordering and the pages read `?name=` as absent.
            if parameter["in"] == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
        responses = operation["responses"]
        for status, response in self._shared_errors(operation).items():
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    response, str(status)
                )
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _get_request_body(self, direction: str = "request") -> dict[str, Any] | None:
        # drf-spectacular documents a body for PUT, PATCH and POST only; a DELETE
        # that declares one (DELETE me/ takes the password) is documented like a POST.
        if self.method != "DELETE" or not self._declares_a_request_body():
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"

    def _declares_a_request_body(self) -> bool:
        """Whether extend_schema(request=...) names the body.

        The body drf-spectacular implies from the view is a serializer instance (or
        the view's serializer_class); one that extend_schema names is a class.
        """
        declared = self.get_request_serializer()
        return isinstance(declared, type) and declared is not getattr(
            self.view, "serializer_class", None
        )

    def _shared_errors(self, operation: dict[str, Any]) -> dict[int, OpenApiResponse]:
        parameters = operation.get("parameters", [])
        in_query = any(parameter["in"] == "query" for parameter in parameters)
        in_path = any(parameter["in"] == "path" for parameter in parameters)
        has_body = "requestBody" in operation
        errors: dict[int, OpenApiResponse] = {}
        if has_body or in_query:
            errors[400] = INVALID
        if any(requirement for requirement in operation.get("security", [])):
            errors[401] = NOT_AUTHENTICATED
            if self._checks_a_role():
                errors[403] = PERMISSION_DENIED
        if in_path:
            errors[404] = NOT_FOUND
        elif any(parameter["name"] == "page" for parameter in parameters):
            errors[404] = PAGE_NOT_FOUND
        if has_body:
            errors[413] = PAYLOAD_TOO_LARGE
            errors[415] = UNSUPPORTED_MEDIA_TYPE
        if self.view.get_throttles():
            errors[429] = THROTTLED
        return errors

    def _checks_a_role(self) -> bool:
        """Whether a permission beyond the default (an approved user) applies."""
        default = set(api_settings.DEFAULT_PERMISSION_CLASSES)
        return any(
            type(permission) not in default and not isinstance(permission, AllowAny)
            for permission in self.view.get_permissions()
        )
