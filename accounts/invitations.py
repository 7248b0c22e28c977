"""Invitation links: a token of their own, valid 7 days and for one use."""

from __future__ import annotations

from datetime import timedelta

from allauth.account.utils import url_str_to_user_pk, user_pk_to_url_str
from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int

from accounts.models import User

INVITATION_LIFETIME = timedelta(days=7)


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """Django's reset token with its own salt and lifetime.

    Its hash covers the password and last_login, so setting the password (or
    signing in) uses the link up.
    """

    key_salt = "gatehouse.accounts.InvitationTokenGenerator"

    def check_token(self, user: User | None, token: str | None) -> bool:
        # Django's check reads PASSWORD_RESET_TIMEOUT; this one has its own limit.
        if not (user and token):
            return False
        try:
            ts_b36, _ = token.split("-")
            ts = base36_to_int(ts_b36)
        except ValueError:
            return False
        if not any(
            constant_time_compare(
                self._make_token_with_timestamp(user, ts, secret), token
            )
            for secret in [self.secret, *self.secret_fallbacks]
        ):
            return False
        age = self._num_seconds(self._now()) - ts
        return age <= INVITATION_LIFETIME.total_seconds()


invitation_token_generator = InvitationTokenGenerator()


def invitation_url(user: User) -> str:
    uid = user_pk_to_url_str(user)
    token = invitation_token_generator.make_token(user)
    if settings.INVITATION_URL:
        return settings.INVITATION_URL.format(uid=uid, token=token)
    path = reverse("invitation-accept", kwargs={"uid": uid, "token": token})
    return f"{settings.BASE_URL}{path}"


def invited_user(*, uid: str, token: str, for_update: bool = False) -> User | None:
    """The user an invitation link is for while it is still valid, else None."""
    users = User.objects.select_for_update() if for_update else User.objects
    try:
        user = users.get(pk=url_str_to_user_pk(uid))
    except (User.DoesNotExist, ValidationError, ValueError, TypeError, OverflowError):
        return None
    if not invitation_token_generator.check_token(user, token):
        return None
    return user
