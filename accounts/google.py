"""Verification of Google ID tokens sent by frontends.

PyJWT checks the RS256 signature and the claims; CacheControl keeps Google's JWKS
for as long as its Cache-Control header allows. google-auth's verify_token was
used first, but it cannot pass a clock-skew leeway to PyJWT nor require `exp`.
"""

from __future__ import annotations

from typing import Any

import jwt
import requests
from cachecontrol import CacheControl
from django.conf import settings

from accounts.errors import AuthenticationFailed, GoogleUnavailable

GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
CERTS_TIMEOUT_SECONDS = 5
CLOCK_SKEW_SECONDS = 10

# One process-wide session, so a sign-in costs no key fetch while the keys are fresh.
_certs_session = CacheControl(requests.Session())


def _signing_key(token: str) -> jwt.PyJWK:
    try:
        response = _certs_session.get(
            settings.GOOGLE_CERTS_URL, timeout=CERTS_TIMEOUT_SECONDS
        )
        response.raise_for_status()
        keys = jwt.PyJWKSet.from_dict(response.json())
    except (requests.RequestException, ValueError, jwt.PyJWTError) as exc:
        raise GoogleUnavailable() from exc
    kid = jwt.get_unverified_header(token).get("kid")
    for key in keys.keys:
        if kid and key.key_id == kid and key.public_key_use in ("sig", None):
            return key
    raise AuthenticationFailed("The Google ID token is signed with an unknown key.")


def google_id_token_verify(*, token: str) -> dict[str, Any]:
    """Returns the verified claims of a Google ID token, or raises a 401 error."""
    if not settings.GOOGLE_CLIENT_IDS:
        raise AuthenticationFailed("Google sign-in is not configured on this server.")
    try:
        claims = jwt.decode(
            token,
            _signing_key(token).key,
            algorithms=["RS256"],
            audience=settings.GOOGLE_CLIENT_IDS,
            issuer=GOOGLE_ISSUERS,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise AuthenticationFailed(f"The Google ID token is not valid: {exc}") from exc

    if not claims.get("email"):
        raise AuthenticationFailed("The Google ID token has no email.")
    if claims.get("email_verified") not in (True, "true"):
        raise AuthenticationFailed("The Google account's email is not verified.")
    return claims
