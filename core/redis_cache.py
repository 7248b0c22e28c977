"""Django's Redis cache, falling back to this process's memory while Redis is down.

The cache holds only sign-in counters (the API's throttles and allauth's rate
limits), so an outage costs their sharing across processes, not sign-in itself.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis
from django.core.cache import BaseCache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

# While Redis is down, calls go straight to memory and Redis is tried again after
# this many seconds, so a hanging server slows a request down at most once a while.
RETRY_AFTER_SECONDS = 5
WARNING_INTERVAL_SECONDS = 60

_state_lock = threading.Lock()
# Per Redis location, shared by the threads of a process (cache objects are
# per thread): when to try Redis again, and when the last warning was logged.
_retry_at: dict[str, float] = {}
_warned_at: dict[str, float] = {}


class FallbackRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._location = server
        self._memory = LocMemCache(
            f"redis-fallback:{server}",
            {key: value for key, value in params.items() if key != "OPTIONS"},
        )

    def redis_reachable(self) -> bool:
        """Pings Redis itself, whatever the fallback state; True when it answers."""
        try:
            self._cache.get_client().ping()
        except redis.RedisError:
            return False
        with _state_lock:
            _retry_at.pop(self._location, None)
        return True

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() < _retry_at.get(self._location, 0.0):
            return getattr(self._memory, method)(*args, **kwargs)
        try:
            return getattr(super(), method)(*args, **kwargs)
        except redis.RedisError as exc:
            self._note_outage(exc)
            return getattr(self._memory, method)(*args, **kwargs)

    def _note_outage(self, exc: redis.RedisError) -> None:
        now = time.monotonic()
        with _state_lock:
            _retry_at[self._location] = now + RETRY_AFTER_SECONDS
            last = _warned_at.get(self._location)
            if last is not None and now - last < WARNING_INTERVAL_SECONDS:
                return
            _warned_at[self._location] = now
        logger.warning(
            "Cache unreachable (%s); sign-in throttles count per process until "
            "it answers again",
            type(exc).__name__,
        )

    def add(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("add", *args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get", *args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("set", *args, **kwargs)

    def touch(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("touch", *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("delete", *args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_many", *args, **kwargs)

    def has_key(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("has_key", *args, **kwargs)

    def incr(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("incr", *args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("set_many", *args, **kwargs)

    def delete_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("delete_many", *args, **kwargs)

    def clear(self) -> Any:
        self._memory.clear()
        return self._call("clear")


def cache_reachable(alias: str = "default") -> bool:
    """Whether the cache answers; a Redis cache in fallback counts as unreachable."""
    backend: BaseCache = caches[alias]
    if isinstance(backend, FallbackRedisCache):
        return backend.redis_reachable()
    try:
        backend.get("health:probe")
    except Exception:
        logger.exception("Health check: cache unreachable")
        return False
    return True
