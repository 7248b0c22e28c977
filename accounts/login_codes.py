"""Sign-in codes mailed to an address: issued, stored as a keyed hash, used once.

allauth's login-by-code flow keeps the code (in plain text) in the login stage of
a Django session, which a JWT API without sessions cannot carry from request to
confirm; its code format (adapter.generate_login_code), comparison rules and
settings (ACCOUNT_LOGIN_BY_CODE_*) are reused here, the state lives in LoginCode.
"""

from __future__ import annotations

from datetime import timedelta

from allauth.account import app_settings as allauth_account
from allauth.account.adapter import get_adapter
from allauth.core.internal.cryptokit import normalize_user_code
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import LoginCode, User, normalize_email


def _code_hash(*, email: str, code: str) -> str:
    # Keyed with SECRET_KEY and bound to the address: a leaked table reveals no
    # code, and a short code cannot be looked up in a precomputed table.
    value = f"{email}\n{normalize_user_code(code)}"
    return salted_hmac("accounts.login_code", value, algorithm="sha256").hexdigest()


def login_code_send(*, email: str) -> bool:
    """Mails a new code (replacing any earlier one) where one may be used; sent?"""
    email = normalize_email(email)
    user = User.objects.filter(email=email).first()
    if user is None and settings.SIGNUP_MODE == "closed":
        return False
    adapter = get_adapter()
    code = adapter.generate_login_code()
    now = timezone.now()
    timeout = allauth_account.LOGIN_BY_CODE_TIMEOUT
    # Codes nobody confirmed would stay for ever; each new one sweeps them out.
    LoginCode.objects.filter(expires_at__lte=now).exclude(email=email).delete()
    LoginCode.objects.update_or_create(
        email=email,
        defaults={
            "code_hash": _code_hash(email=email, code=code),
            "created_at": now,
            "expires_at": now + timedelta(seconds=timeout),
            "failed_attempts": 0,
        },
    )
    context = {"code": code, "user": user, "valid_minutes": timeout // 60}
    adapter.send_mail("account/email/login_code", email, context)
    return True


@transaction.atomic
def login_code_use(*, email: str, code: str) -> bool:
    """Whether the code is the address's live one; a match uses it up.

    A wrong code counts against it, and the last allowed wrong try deletes it.
    """
    email = normalize_email(email)
    stored = LoginCode.objects.select_for_update().filter(email=email).first()
    if stored is None:
        return False
    if stored.expires_at <= timezone.now():
        stored.delete()
        return False
    if constant_time_compare(stored.code_hash, _code_hash(email=email, code=code)):
        stored.delete()
        return True
    stored.failed_attempts += 1
    if stored.failed_attempts >= allauth_account.LOGIN_BY_CODE_MAX_ATTEMPTS:
        stored.delete()
    else:
        stored.save(update_fields=["failed_attempts"])
    return False
