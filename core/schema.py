"""OpenAPI: the documented error responses, all with the shared error body."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse

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
