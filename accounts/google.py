"""Google sign-in: the ID tokens frontends send, verified, and the user they sign in.

PyJWT checks the RS256 signature and the claims against Google's JWKS (cached and
refetched on rotation by accounts/jwks.py). google-auth's verify_token was used
first, but it cannot pass a clock-skew leeway to PyJWT nor require `exp`.
"""

from __future__ import annotations

from typing import Any

import jwt
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.errors import AuthenticationFailed, GoogleUnavailable, SignupClosed
from accounts.jwks import JwksKeys
from accounts.models import User, normalize_email
from accounts.services import (
    access_request_open,
    new_user_status,
    user_join_by_proven_email,
    user_make_first_admin_if_listed,
)
from core.audit import Action, record_activity

GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
CLOCK_SKEW_SECONDS = 10

_keys = JwksKeys(unavailable=GoogleUnavailable)


def _signing_key(token: str) -> jwt.PyJWK:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError as exc:
        raise AuthenticationFailed(f"The Google ID token is not valid: {exc}") from exc
    key = _keys.key_for(url=settings.GOOGLE_CERTS_URL, kid=str(kid or ""))
    if key is None:
        raise AuthenticationFailed("The Google ID token is signed with an unknown key.")
    return key


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


# --- The user a verified token signs in -------------------------------------------


def user_sign_in_with_google(*, claims: dict[str, Any]) -> User:
    """Finds or creates the user of verified Google claims, linked by `sub`."""
    try:
        return _user_sign_in_with_google(claims=claims)
    except IntegrityError:
        # A concurrent first sign-in of the same account won the insert; the
        # second attempt finds its rows.
        return _user_sign_in_with_google(claims=claims)


@transaction.atomic
def _user_sign_in_with_google(*, claims: dict[str, Any]) -> User:
    sub, email = str(claims["sub"]), normalize_email(claims["email"])
    account = SocialAccount.objects.select_related("user").filter(
        provider="google", uid=sub
    )
    account = account.first()
    if account is not None:
        user = account.user
        account.extra_data = claims
        account.save(update_fields=["extra_data", "last_login"])
    else:
        user = User.objects.select_for_update().filter(email=email).first()
        if user is None:
            user = _user_create_from_google(email=email, claims=claims)
        else:
            user_join_by_proven_email(user=user, reason="google_took_over")
        SocialAccount.objects.create(
            user=user, provider="google", uid=sub, extra_data=claims
        )

    address, _ = EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"primary": user.email == email}
    )
    if not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])
    _fill_profile_from_google(user=user, claims=claims)
    return user_make_first_admin_if_listed(user=user)


def _user_create_from_google(*, email: str, claims: dict[str, Any]) -> User:
    if settings.SIGNUP_MODE == "closed":
        raise SignupClosed()
    user = User.objects.create_user(
        email=email,
        status=new_user_status(),
        auth_provider=User.AuthProvider.GOOGLE,
    )
    record_activity(
        action=Action.SIGNED_UP,
        actor=user,
        target=user,
        metadata={"method": "google", "status": user.status},
    )
    # Google has verified the address, so FIRST_ADMIN_EMAIL is approved just after;
    # a request would only notify the admins (this user included) of nothing.
    if user.status == User.Status.PENDING and email != settings.FIRST_ADMIN_EMAIL:
        access_request_open(user=user, reason="")
    return user


def _fill_profile_from_google(*, user: User, claims: dict[str, Any]) -> None:
    changed = []
    if not user.full_name and claims.get("name"):
        user.full_name = str(claims["name"])[:150]
        changed.append("full_name")
    if not user.avatar_url and not user.avatar_file and claims.get("picture"):
        user.avatar_url = str(claims["picture"])[:1000]
        changed.append("avatar_url")
    if changed:
        user.save(update_fields=changed)
