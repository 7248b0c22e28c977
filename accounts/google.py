"""Verification of Google ID tokens sent by frontends (google-auth does the crypto)."""

from __future__ import annotations

from typing import Any

import jwt
import requests
from cachecontrol import CacheControl
from django.conf import settings
from google.auth import exceptions as google_exceptions
from google.auth.transport.requests import Request as GoogleRequest
from google.oauth2 import id_token as google_id_token

from accounts.errors import AuthenticationFailed, GoogleUnavailable

GOOGLE_ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})

# One process-wide session: CacheControl keeps the JWKS for as long as Google's
# Cache-Control header allows, so a sign-in costs no key fetch on the hot path.
_certs_session = CacheControl(requests.Session())
CERTS_TIMEOUT_SECONDS = 5


def _fetch(url: str, method: str = "GET", **kwargs: Any) -> Any:
    return GoogleRequest(session=_certs_session)(
        url, method=method, timeout=CERTS_TIMEOUT_SECONDS, **kwargs
    )


def google_id_token_verify(*, token: str) -> dict[str, Any]:
    """Returns the verified claims of a Google ID token, or raises a 401 error."""
    if not settings.GOOGLE_CLIENT_IDS:
        raise AuthenticationFailed("Google sign-in is not configured on this server.")
    try:
        claims = google_id_token.verify_token(
            token,
            _fetch,
            audience=settings.GOOGLE_CLIENT_IDS,
            certs_url=settings.GOOGLE_CERTS_URL,
        )
    except google_exceptions.TransportError as exc:
        raise GoogleUnavailable() from exc
    except (ValueError, jwt.PyJWTError, google_exceptions.GoogleAuthError) as exc:
        raise AuthenticationFailed(f"The Google ID token is not valid: {exc}") from exc

    if claims.get("iss") not in GOOGLE_ISSUERS:
        raise AuthenticationFailed("The Google ID token has the wrong issuer.")
    if not claims.get("sub") or not claims.get("email"):
        raise AuthenticationFailed("The Google ID token has no subject or email.")
    if claims.get("email_verified") not in (True, "true"):
        raise AuthenticationFailed("The Google account's email is not verified.")
    return claims
