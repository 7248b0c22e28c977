"""Google sign-in: the ID tokens frontends send, verified, and the user they sign in.

PyJWT checks the RS256 signature and the claims; CacheControl keeps Google's JWKS
for as long as its Cache-Control header allows. google-auth's verify_token was
used first, but it cannot pass a clock-skew leeway to PyJWT nor require `exp`.
"""

from __future__ import annotations

from typing import Any

import jwt
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from cachecontrol import CacheControl
from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.errors import AuthenticationFailed, GoogleUnavailable, SignupClosed
from accounts.models import User, normalize_email
from accounts.services import (
    access_request_open,
    new_user_status,
    user_make_first_admin_if_listed,
)
from accounts.sessions import sessions_end_all
from core.audit import Action, record_activity

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
            _user_join_google(user=user)
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


def _user_join_google(*, user: User) -> None:
    confirmed = EmailAddress.objects.filter(user=user, email=user.email, verified=True)
    if confirmed.exists() and not user.password_unproven:
        return
    # Whoever chose this password had not proven the address (a confirmation
    # later does not tell who chose it); Google just proved it for the mailbox's
    # owner, so the password and its sessions are dropped.
    user.set_unusable_password()
    user.password_unproven = False
    user.save(update_fields=["password", "password_unproven"])
    sessions_end_all(user=user, reason="google_took_over")


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
