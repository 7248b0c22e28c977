"""Signing keys published as a JWKS (Google's, an external identity provider's).

CacheControl keeps each JWKS for as long as its Cache-Control header allows, so a
verification costs no fetch while the keys are fresh. A token signed with a kid the
cached set lacks may mean the provider rotated its keys: the set is fetched again,
bypassing the cache, at most once per REFETCH_SECONDS per URL, so a stream of
tokens with made-up kids cannot make us hammer the provider.
"""

from __future__ import annotations

import threading
import time

import jwt
import requests
from cachecontrol import CacheControl
from cachecontrol.heuristics import BaseHeuristic

from core.errors import ServiceUnavailable

FETCH_TIMEOUT_SECONDS = 5
REFETCH_SECONDS = 60
# For a JWKS served without Cache-Control or Expires, which would otherwise be
# fetched again for every token; a rotation within it costs one refetch as above.
DEFAULT_MAX_AGE_SECONDS = 300


class _DefaultMaxAge(BaseHeuristic):
    def update_headers(self, response):  # type: ignore[no-untyped-def]
        if "cache-control" in response.headers or "expires" in response.headers:
            return {}
        return {"cache-control": f"max-age={DEFAULT_MAX_AGE_SECONDS}"}

    def warning(self, response):  # type: ignore[no-untyped-def]
        return None


class JwksKeys:
    """A process-wide cache of the JWKS at any number of URLs."""

    def __init__(self, *, unavailable: type[ServiceUnavailable]) -> None:
        self._session = CacheControl(requests.Session(), heuristic=_DefaultMaxAge())
        self._unavailable = unavailable
        self._lock = threading.Lock()
        self._refetched_at: dict[str, float] = {}

    def key_for(self, *, url: str, kid: str) -> jwt.PyJWK | None:
        """The signing key `kid` of the JWKS at `url`, None when it has none such;
        raises `unavailable` when the JWKS cannot be fetched or read."""
        key = _find(self._fetch(url, fresh=False), kid)
        if key is None and kid and self._may_refetch(url):
            key = _find(self._fetch(url, fresh=True), kid)
        return key

    def _may_refetch(self, url: str) -> bool:
        now = time.monotonic()
        with self._lock:
            last = self._refetched_at.get(url)
            if last is not None and now - last < REFETCH_SECONDS:
                return False
            self._refetched_at[url] = now
            return True

    def _fetch(self, url: str, *, fresh: bool) -> jwt.PyJWKSet:
        headers = {"Cache-Control": "no-cache"} if fresh else {}
        try:
            response = self._session.get(
                url, headers=headers, timeout=FETCH_TIMEOUT_SECONDS
            )
            response.raise_for_status()
            return jwt.PyJWKSet.from_dict(response.json())
        except (requests.RequestException, ValueError, jwt.PyJWTError) as exc:
            raise self._unavailable() from exc


def _find(keys: jwt.PyJWKSet, kid: str) -> jwt.PyJWK | None:
    for key in keys.keys:
        if kid and key.key_id == kid and key.public_key_use in ("sig", None):
            return key
    return None
