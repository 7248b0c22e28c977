from __future__ import annotations

import uuid

from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.tokens import Token

from accounts.errors import (
    AccessRejected,
    AccountDisabled,
    ApprovalPending,
    TokenNotValid,
)
from accounts.external_tokens import (
    external_issuer_of,
    external_token_verify,
    user_for_external_token,
)
from accounts.models import User
from accounts.selectors import user_for_live_session
from core.errors import ApiError


def _reads_access(request: Request) -> bool:
    """Whether the view reads the user's groups or permissions (`reads_user_access`
    on the view or on one of its permission classes, such as HasPermission): only
    then does the session query carry them."""
    view = (getattr(request, "parser_context", None) or {}).get("view")
    if view is None:
        return True
    return getattr(view, "reads_user_access", False) or any(
        getattr(permission, "reads_user_access", False)
        for permission in getattr(view, "permission_classes", ())
    )


class SessionJWTAuthentication(JWTAuthentication):
    """Bearer access tokens that die with their session, in one query per request."""

    def authenticate(self, request: Request) -> tuple[User, Token] | None:  # type: ignore[override]
        header = self.get_header(request)
        raw_token = None if header is None else self.get_raw_token(header)
        if raw_token is None:
            return None
        if external_issuer_of(raw_token.decode("latin-1")) is not None:
            return None  # ExternalJWTAuthentication's
        validated_token = self.get_validated_token(raw_token)
        return self._user(validated_token, with_access=_reads_access(request)), (
            validated_token
        )

    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]
        return self._user(validated_token, with_access=True)

    def _user(self, validated_token: Token, *, with_access: bool) -> User:
        try:
            user_id = uuid.UUID(str(validated_token.get("user_id")))
            session_id = uuid.UUID(str(validated_token.get("sid")))
        except ValueError:
            raise TokenNotValid() from None
        user = user_for_live_session(
            user_id=user_id, session_id=session_id, with_access=with_access
        )
        if user is None:
            raise TokenNotValid("This session has ended; sign in again.")
        return user


class ExternalJWTAuthentication(JWTAuthentication):
    """Bearer tokens of an EXTERNAL_JWT_ISSUERS provider, for approved users only."""

    _refusals: dict[str, type[ApiError]] = {
        User.Status.PENDING: ApprovalPending,
        User.Status.REJECTED: AccessRejected,
        User.Status.DISABLED: AccountDisabled,
    }

    def authenticate(self, request: Request) -> tuple[User, dict] | None:  # type: ignore[override]
        header = self.get_header(request)
        raw_token = None if header is None else self.get_raw_token(header)
        if raw_token is None:
            return None
        token = raw_token.decode("latin-1")
        issuer = external_issuer_of(token)
        if issuer is None:
            return None
        claims = external_token_verify(token=token, issuer=issuer)
        user = user_for_external_token(issuer=issuer["issuer"], claims=claims)
        if user.status in self._refusals:
            raise self._refusals[user.status]()
        # Views read request.auth["sid"] as the id of one of our sessions; this
        # token has none (a provider's own `sid` claim names its session, not ours).
        return user, {**claims, "sid": None}
