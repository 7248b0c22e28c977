from __future__ import annotations

import uuid

from django.utils import timezone
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.tokens import Token

from accounts.errors import TokenNotValid
from accounts.models import User


class SessionJWTAuthentication(JWTAuthentication):
    """Bearer access tokens that die with their session, in one query per request."""

    def get_user(self, validated_token: Token) -> User:
        try:
            user_id = uuid.UUID(str(validated_token.get("user_id")))
            session_id = uuid.UUID(str(validated_token.get("sid")))
        except ValueError:
            raise TokenNotValid() from None
        # One joined query checks the user, their status and the live session.
        user = (
            User.objects.with_email_verified()
            .filter(
                pk=user_id,
                status=User.Status.APPROVED,
                auth_sessions__pk=session_id,
                auth_sessions__ended_at__isnull=True,
                auth_sessions__expires_at__gt=timezone.now(),
            )
            .first()
        )
        if user is None:
            raise TokenNotValid("This session has ended; sign in again.")
        return user
