"""Bearer tokens of an external identity provider (EXTERNAL_JWT_ISSUERS): verified
against its JWKS, and the user they belong to, found by (issuer, `sub`)."""

from __future__ import annotations

import binascii
import json
from typing import Any

import jwt
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from jwt.utils import base64url_decode

from accounts.errors import AuthenticationFailed, ExternalKeysUnavailable, SignupClosed
from accounts.jwks import JwksKeys
from accounts.models import ExternalIdentity, User, normalize_email
from accounts.selectors import access_loaded_from_query, users_with_access
from accounts.services import (
    access_request_open,
    new_user_status,
    user_join_by_proven_email,
    user_make_first_admin_if_listed,
)
from core.audit import Action, record_activity

# Asymmetric only: a symmetric (HS*) or `none` token could be forged by anyone
# who has read the provider's public keys.
ALGORITHMS = ("RS256", "ES256", "EdDSA")
CLOCK_SKEW_SECONDS = 10

_keys = JwksKeys(unavailable=ExternalKeysUnavailable)


def external_issuer_of(token: str) -> dict[str, Any] | None:
    """The configured issuer the token's (unverified) `iss` names, else None.

    Only decodes the payload: a cheap test that keeps every other bearer token,
    ours included, on its own path."""
    issuers = settings.EXTERNAL_JWT_ISSUERS
    if not issuers:
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64url_decode(parts[1]))
    except (ValueError, binascii.Error):
        return None
    iss = payload.get("iss") if isinstance(payload, dict) else None
    return next((item for item in issuers if item["issuer"] == iss), None)


def external_token_verify(*, token: str, issuer: dict[str, Any]) -> dict[str, Any]:
    """The verified claims of a token from `issuer`, or a 401 (503: no keys)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise AuthenticationFailed(f"The token is not valid: {exc}") from exc
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise AuthenticationFailed(
            f"The token must be signed with RS256, ES256 or EdDSA, not {algorithm!r}."
        )
    key = _keys.key_for(url=issuer["jwks_url"], kid=str(header.get("kid") or ""))
    if key is None:
        raise AuthenticationFailed("The token is signed with an unknown key.")
    if key.algorithm_name != algorithm:
        raise AuthenticationFailed("The token's algorithm does not match its key.")
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[algorithm],
            audience=issuer["audiences"],
            issuer=issuer["issuer"],
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise AuthenticationFailed(f"The token is not valid: {exc}") from exc
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise AuthenticationFailed("The token has no subject (`sub`).")
    return claims


def user_for_external_token(*, issuer: str, claims: dict[str, Any]) -> User:
    """The user of verified claims; a first token signs up or links an account."""
    user = _known_user(issuer=issuer, subject=claims["sub"])
    if user is not None:
        return user
    try:
        return _user_sign_in_first_time(issuer=issuer, claims=claims)
    except IntegrityError:
        # A concurrent first token won the insert (of this identity, or of an
        # account with this email); the second attempt finds its rows.
        user = _known_user(issuer=issuer, subject=claims["sub"])
        return user or _user_sign_in_first_time(issuer=issuer, claims=claims)


def _known_user(*, issuer: str, subject: str) -> User | None:
    return access_loaded_from_query(
        users_with_access(User.objects.with_email_verified())
        .filter(
            external_identities__issuer=issuer, external_identities__subject=subject
        )
        .first()
    )


@transaction.atomic
def _user_sign_in_first_time(*, issuer: str, claims: dict[str, Any]) -> User:
    if not claims.get("email") or not isinstance(claims["email"], str):
        raise AuthenticationFailed(
            "The token has no email, so no account can match it."
        )
    if claims.get("email_verified") not in (True, "true"):
        raise AuthenticationFailed(
            "The identity provider has not verified this account's email."
        )
    email = normalize_email(claims["email"])
    try:
        validate_email(email)
    except ValidationError:
        raise AuthenticationFailed(
            "The token's email is not an email address."
        ) from None
    user = User.objects.select_for_update().filter(email=email).first()
    if user is None:
        user = _user_create(email=email, issuer=issuer)
    else:
        user_join_by_proven_email(user=user, reason="external_took_over")
        record_activity(
            action=Action.SIGN_IN_SUCCEEDED,
            actor=user,
            target=user,
            metadata={"method": "external", "issuer": issuer, "linked": True},
        )
    ExternalIdentity.objects.create(user=user, issuer=issuer, subject=claims["sub"])
    address, _ = EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"primary": user.email == email}
    )
    if not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])
    if not user.full_name and isinstance(claims.get("name"), str):
        user.full_name = claims["name"][:150]
        user.save(update_fields=["full_name"])
    return user_make_first_admin_if_listed(user=user)


def _user_create(*, email: str, issuer: str) -> User:
    if settings.SIGNUP_MODE == "closed":
        raise SignupClosed()
    user = User.objects.create_user(
        email=email, status=new_user_status(), auth_provider=User.AuthProvider.EXTERNAL
    )
    record_activity(
        action=Action.SIGNED_UP,
        actor=user,
        target=user,
        metadata={"method": "external", "issuer": issuer, "status": user.status},
    )
    if user.status == User.Status.PENDING and email != settings.FIRST_ADMIN_EMAIL:
        access_request_open(user=user, reason="")
    return user
