"""Two-factor sign-in on allauth.mfa: TOTP enrolment, recovery codes, mfa tokens."""

from __future__ import annotations

import secrets

from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    generate_totp_secret,
    validate_totp_code,
)
from django.core import signing
from django.core.cache import cache
from django.db import transaction

from accounts.errors import InvalidCode, MfaAlreadyEnabled, MfaNotEnabled
from accounts.models import User
from core.audit import Action, record_activity

MFA_TOKEN_SECONDS = 300
# Wrong codes one token takes before it is deleted; the per-user throttle limits
# the pace, this limits what a single first-factor success is worth.
MFA_TOKEN_MAX_FAILURES = 5
_PENDING_SECONDS = 600
_SIGNER_SALT = "accounts.mfa.token"


def _pending_key(user: User) -> str:
    return f"mfa:totp:pending:{user.pk}"


def _token_key(token_id: str) -> str:
    return f"mfa:token:{token_id}"


def _failures_key(token_id: str) -> str:
    return f"mfa:token:{token_id}:failures"


def user_has_mfa(user: User) -> bool:
    # A passkey (added on allauth's web pages) counts: its user's API sign-in then
    # asks for the second factor too, which a recovery code gives there.
    return Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()


def totp_start(*, user: User) -> dict[str, str]:
    """A new secret awaiting confirmation (10 min); MFA is not on until confirmed."""
    if user_has_mfa(user):
        raise MfaAlreadyEnabled()
    secret = generate_totp_secret()
    cache.set(_pending_key(user), secret, timeout=_PENDING_SECONDS)
    adapter = get_adapter()
    uri = adapter.build_totp_url(user, secret)
    return {"secret": secret, "otpauth_uri": uri, "qr_svg": adapter.build_totp_svg(uri)}


def totp_confirm(*, user: User, code: str) -> list[str]:
    """Activates the pending secret; answers the ten recovery codes, shown only now."""
    secret = cache.get(_pending_key(user))
    if not secret or not validate_totp_code(secret, code):
        _code_failed(user=user, purpose="enable")
        raise InvalidCode()
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        if user_has_mfa(user):
            raise MfaAlreadyEnabled()
        TOTP.activate(user, secret)
        Authenticator.objects.filter(
            user=user, type=Authenticator.Type.RECOVERY_CODES
        ).delete()
        codes = RecoveryCodes.activate(user)
        codes.mark_as_viewed()
        record_activity(action=Action.MFA_ENABLED, actor=user, target=user)
    cache.delete(_pending_key(user))
    return codes.generate_codes()


def totp_remove(*, user: User, code: str) -> None:
    """Turns MFA off (TOTP and recovery codes) given a current TOTP code."""
    totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if totp is None:
        raise MfaNotEnabled()
    if not TOTP(totp).validate_code(code):
        _code_failed(user=user, purpose="disable")
        raise InvalidCode()
    with transaction.atomic():
        Authenticator.objects.filter(
            user=user,
            type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES],
        ).delete()
        record_activity(action=Action.MFA_DISABLED, actor=user, target=user)


def _code_failed(*, user: User, purpose: str) -> None:
    # A signed-in caller guessing codes may hold a stolen access token.
    record_activity(
        action=Action.MFA_CODE_FAILED,
        actor=user,
        target=user,
        metadata={"purpose": purpose},
    )


def authenticators_of(user: User) -> list[Authenticator]:
    return list(Authenticator.objects.filter(user=user).order_by("created_at", "pk"))


def mfa_token_issue(*, user: User, method: str) -> str:
    """A signed, stored token naming the user and first factor: 5 minutes, one use."""
    token_id = secrets.token_urlsafe(24)
    pending = {"user": str(user.pk), "method": method}
    cache.set(_token_key(token_id), pending, timeout=MFA_TOKEN_SECONDS)
    return signing.TimestampSigner(salt=_SIGNER_SALT).sign(token_id)


def _token_id(token: str) -> str | None:
    try:
        return signing.TimestampSigner(salt=_SIGNER_SALT).unsign(
            token, max_age=MFA_TOKEN_SECONDS
        )
    except signing.BadSignature:
        return None


def _pending(token: object) -> tuple[str, dict[str, str]] | None:
    token_id = _token_id(token) if isinstance(token, str) else None
    pending = cache.get(_token_key(token_id)) if token_id else None
    return (token_id, pending) if token_id and pending else None


def mfa_token_user_pk(token: object) -> str | None:
    """The user a live token names, or None (it is not used up by this)."""
    found = _pending(token)
    return found[1]["user"] if found else None


def _code_valid(user: User, code: str) -> bool:
    for authenticator in Authenticator.objects.filter(user=user):
        if authenticator.type == Authenticator.Type.TOTP:
            wrapped: TOTP | RecoveryCodes = TOTP(authenticator)
        elif authenticator.type == Authenticator.Type.RECOVERY_CODES:
            wrapped = RecoveryCodes(authenticator)
        else:
            continue
        if wrapped.validate_code(code):
            authenticator.record_usage()
            return True
    return False


def mfa_verify(*, token: str, code: str) -> tuple[User, str]:
    """The user whose mfa token and second factor these are, and the first factor's
    method; the token is used up.

    A wrong code is audited and leaves the token live until its fifth, which
    deletes it; a token that is unknown, expired or used answers invalid_code too.
    """
    found = _pending(token)
    user = User.objects.filter(pk=found[1]["user"]).first() if found else None
    if found is None or user is None or not _code_valid(user, code):
        if found is not None:
            _failure_count(found[0])
        record_activity(
            action=Action.SIGN_IN_FAILED,
            actor=user,
            target=user,
            metadata={
                "method": "mfa",
                "reason": InvalidCode.default_code,
                "email": user.email if user else "",
            },
        )
        raise InvalidCode()
    # Of two right answers at once, only the one that deletes the token signs in.
    if not cache.delete(_token_key(found[0])):
        raise InvalidCode()
    cache.delete(_failures_key(found[0]))
    return user, found[1]["method"]


def _failure_count(token_id: str) -> None:
    # add+incr is atomic in Redis, so processes sharing it count every try.
    key = _failures_key(token_id)
    cache.add(key, 0, timeout=MFA_TOKEN_SECONDS)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr, as the token did
        return
    if failures >= MFA_TOKEN_MAX_FAILURES:
        cache.delete_many([_token_key(token_id), key])
