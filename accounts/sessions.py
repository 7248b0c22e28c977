"""Sign-in sessions and their tokens: start, refresh rotation, logout, end.

Each session is one device (an AuthSession row); its refresh and access tokens carry
its id as `sid`, so ending the session revokes them.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any, cast

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.errors import TokenNotValid
from accounts.models import AuthSession, User
from core.audit import Action, record_activity
from core.client_ip import client_ip

logger = logging.getLogger(__name__)


def _refresh_token_for(*, session: AuthSession) -> RefreshToken:
    token = RefreshToken.for_user(session.user)
    token["sid"] = str(session.pk)
    token["exp"] = int(session.expires_at.timestamp())
    return token


def _token_pair(refresh: RefreshToken) -> dict[str, str]:
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def session_start(
    *, user: User, request: HttpRequest, method: str = "password"
) -> dict[str, str]:
    """Signs the user in on a new device session and returns its token pair."""
    now = timezone.now()
    lifetime = cast(
        timedelta, settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
    )  # a dict[str, object]
    session = AuthSession(
        user=user,
        refresh_jti="",
        created_at=now,
        last_used_at=now,
        expires_at=(now + lifetime).replace(microsecond=0),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        ip=client_ip(request) or None,
    )
    refresh = _refresh_token_for(session=session)
    session.refresh_jti = refresh["jti"]
    with transaction.atomic():
        session.save()
        User.objects.filter(pk=user.pk).update(last_login=now)
        record_activity(
            action=Action.SIGN_IN_SUCCEEDED,
            actor=user,
            target=user,
            metadata={"method": method, "session": str(session.pk)},
        )
    return _token_pair(refresh)


def _session_of(raw_refresh: str) -> tuple[RefreshToken, AuthSession]:
    try:
        token = RefreshToken(raw_refresh)  # type: ignore[arg-type]  # the stubs lack str
    except TokenError as exc:
        raise TokenNotValid() from exc
    session = (
        AuthSession.objects.select_related("user").filter(pk=token.get("sid")).first()
        if _is_uuid(token.get("sid"))
        else None
    )
    if session is None or str(session.user_id) != str(token.get("user_id")):
        raise TokenNotValid()
    return token, session


def session_refresh(*, raw_refresh: str) -> dict[str, str]:
    """Rotates a refresh token; exactly one of several concurrent calls succeeds."""
    token, session = _session_of(raw_refresh)
    if not session.is_live or not session.user.is_approved:
        raise TokenNotValid()
    jti = token["jti"]
    now = timezone.now()
    if session.refresh_jti != jti:
        grace = timedelta(seconds=settings.JWT_REFRESH_REUSE_GRACE_SECONDS)
        if session.rotated_at is None or now - session.rotated_at > grace:
            logger.warning(
                "Rotated refresh token reused; ending session %s", session.pk
            )
            session_end(session=session, reason="refresh_reuse")
        raise TokenNotValid("This refresh token has already been used.")

    new_refresh = _refresh_token_for(session=session)
    # A compare-and-swap on the current jti: concurrent rotations of one token
    # all match the WHERE, but only the first UPDATE still finds the old jti.
    rotated = AuthSession.objects.filter(
        pk=session.pk, refresh_jti=jti, ended_at__isnull=True, expires_at__gt=now
    ).update(refresh_jti=new_refresh["jti"], rotated_at=now, last_used_at=now)
    if not rotated:
        raise TokenNotValid("This refresh token has already been used.")
    return _token_pair(new_refresh)


def session_logout(*, raw_refresh: str) -> None:
    _, session = _session_of(raw_refresh)
    session_end(session=session, reason="logout")


def session_end(*, session: AuthSession, reason: str) -> None:
    AuthSession.objects.filter(pk=session.pk).end(reason=reason)


def sessions_end_all(*, user: User, reason: str, except_id: str | None = None) -> int:
    sessions = AuthSession.objects.filter(user=user)
    if except_id:
        sessions = sessions.exclude(pk=except_id)
    return sessions.end(reason=reason)


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


@transaction.atomic
def user_logout_all(*, user: User) -> None:
    sessions_end_all(user=user, reason="logout_all")
    record_activity(action=Action.LOGGED_OUT_ALL, actor=user, target=user)
