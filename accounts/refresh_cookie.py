"""The refresh token in an HttpOnly cookie (JWT_REFRESH_COOKIE), for browser frontends.

Script cannot read the cookie, so an XSS cannot steal the refresh token; a custom
header is demanded wherever the cookie is read, so a cross-site form cannot use it
either (a page on another origin can only send one after a CORS preflight).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.urls import reverse
from rest_framework.authentication import CSRFCheck
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.errors import CsrfFailed

REFRESH_COOKIE_NAME = "gatehouse_refresh"


def refresh_cookie_path() -> str:
    """The auth API's root (`/api/v1/auth/`), under the script prefix when one is set."""
    return reverse("v1:auth:refresh").removesuffix("refresh/")


def token_response(tokens: dict[str, str], **body: object) -> Response:
    """A sign-in or refresh answer; in cookie mode its refresh token goes in the cookie."""
    if not settings.JWT_REFRESH_COOKIE:
        return Response({**tokens, **body})
    raw_refresh = tokens["refresh"]
    response = Response({**{k: v for k, v in tokens.items() if k != "refresh"}, **body})
    # The session's absolute end, which rotation keeps.
    expires_at = RefreshToken(raw_refresh, verify=False)["exp"]  # type: ignore[arg-type]
    _set(response, raw_refresh, max_age=max(0, int(expires_at - time.time())))
    return response


def refresh_cookie_clear(response: Response) -> None:
    if settings.JWT_REFRESH_COOKIE:
        _set(response, "", max_age=0)


def refresh_cookie_read(request: Request) -> str | None:
    """The cookie's refresh token, if cookie mode is on and one was sent.

    Raises CsrfFailed when the request carries neither `X-Requested-With` nor a
    valid CSRF token.
    """
    if not settings.JWT_REFRESH_COOKIE:
        return None
    raw = request.COOKIES.get(REFRESH_COOKIE_NAME)
    if not raw:
        return None
    if not request.headers.get("X-Requested-With", "").strip() and not _csrf_valid(
        request
    ):
        raise CsrfFailed()
    return raw


def _csrf_valid(request: Request) -> bool:
    # As DRF's SessionAuthentication checks it: Django's own middleware, run here
    # because API views are csrf_exempt.
    django_request = request._request
    check = CSRFCheck(lambda _request: None)  # type: ignore[arg-type,return-value]
    check.process_request(django_request)
    return check.process_view(django_request, None, (), {}) is None  # type: ignore[arg-type]


def _set(response: Response, value: str, *, max_age: int) -> None:
    response.set_cookie(
        REFRESH_COOKIE_NAME,
        value,
        max_age=max_age,
        path=refresh_cookie_path(),
        secure=not settings.DEBUG,
        httponly=True,
        samesite="Lax",
    )
