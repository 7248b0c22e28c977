"""Sign-in throttles whose counters live in the shared cache (Redis in production)."""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
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

    def ident(self, request: Request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: APIView) -> bool:
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

    def ident(self, request: Request) -> str | None:
        return client_ip(request)


class SignInAccountThrottle(FixedWindowThrottle):
    scope = "signin_account"

    def ident(self, request: Request) -> str | None:
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None
        return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
