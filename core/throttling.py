"""Sign-in throttles whose counters live in the shared cache (Redis in production)."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from functools import wraps
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from core.client_ip import client_ip

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip().lower().rstrip("s")]


class FixedWindowThrottle(BaseThrottle):
    """Counts with atomic cache add+incr.

    Written instead of DRF's SimpleRateThrottle, whose read-modify-write of a
    history list loses counts when several processes share one cache.
    """

    scope = ""

    # A Django HttpRequest too: admin_login_throttled() counts the admin's login form.
    def ident(self, request: HttpRequest) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: HttpRequest, view: APIView | None) -> bool:
        ident = self.ident(request)
        if not ident:
            return True
        limit, period = parse_rate(settings.THROTTLE_RATES[self.scope])
        now = time.time()
        window = int(now // period)
        key = f"throttle:{self.scope}:{ident}:{window}"
        cache.add(key, 0, timeout=period + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=period + 1)
            count = 1
        self._wait = (window + 1) * period - now
        return count <= limit

    def wait(self) -> float:
        return max(1.0, self._wait)


class SignInIPThrottle(FixedWindowThrottle):
    scope = "signin_ip"

    def ident(self, request: HttpRequest) -> str | None:
        return client_ip(request)


class SignInAccountThrottle(FixedWindowThrottle):
    scope = "signin_account"

    def ident(self, request: HttpRequest) -> str | None:
        data: Any = request.data if isinstance(request, Request) else None
        email = data.get("email") if hasattr(data, "get") else None
        return _account_ident(email)


class AdminLoginAccountThrottle(SignInAccountThrottle):
    """Counts the admin form's attempts on the same per-account counter as the API."""

    def ident(self, request: HttpRequest) -> str | None:
        return _account_ident(request.POST.get("username"))


def _account_ident(email: object) -> str | None:
    if not isinstance(email, str) or not email.strip():
        return None
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def admin_login_throttled(login_view: Callable[..., HttpResponse]) -> Callable:
    """Wraps the admin login view in the sign-in throttles, per IP and per account."""

    @wraps(login_view)
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            for throttle in (SignInIPThrottle(), AdminLoginAccountThrottle()):
                # A refused attempt never reaches the password check (or its hashing).
                if not throttle.allow_request(request, None):
                    return _too_many_attempts(wait=throttle.wait())
        return login_view(request, *args, **kwargs)

    return view


def _too_many_attempts(*, wait: float) -> HttpResponse:
    seconds = math.ceil(wait)
    response = HttpResponse(
        f"Too many sign-in attempts. Try again in {seconds} seconds.\n",
        status=HTTPStatus.TOO_MANY_REQUESTS,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(seconds)
    return response
