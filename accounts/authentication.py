from __future__ import annotations

import uuid

from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.tokens import Token

from accounts.errors import TokenNotValid
from accounts.models import User
from accounts.selectors import user_for_live_session


class SessionJWTAuthentication(JWTAuthentication):
    """Bearer access tokens that die with their session, in one query per request."""

    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]
        try:
            user_id = uuid.UUID(str(validated_token.get("user_id")))
            session_id = uuid.UUID(str(validated_token.get("sid")))
        except ValueError:
            raise TokenNotValid() from None
        user = user_for_live_session(user_id=user_id, session_id=session_id)
        if user is None:
            raise TokenNotValid("This session has ended; sign in again.")
        return user
