"""Django's PostgreSQL backend, with two costs per request taken out.

- Timestamps: Django loads every `timestamptz` through a subclass of psycopg's
  pure-Python loader (to pin its time zone), which defeats psycopg's C parser:
  a page of 100 resources spent about 1.5 ms there. With USE_TZ the session time
  zone is always UTC (Django sets it), so the C parser's answer is already what
  Django's loader returns; this backend hands it the text.
- Health checks: CONN_HEALTH_CHECKS runs `SELECT 1` before the first query of
  every request. A connection that served a request's queries, which ended
  less than HEALTH_CHECK_AFTER_IDLE seconds ago without an unchecked error,
  skips it: under load that is every request. One that sat idle longer is
  checked as before, so a database restart costs no request after a quiet spell.
"""

from __future__ import annotations

import datetime
import time
from functools import cache

from django.conf import settings
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import get_adapters_template
from psycopg import adapt, adapters, postgres
from psycopg.abc import AdaptContext, Loader
from psycopg.pq import Format

HEALTH_CHECK_AFTER_IDLE = 1.0  # seconds

_TIMESTAMPTZ = postgres.types["timestamptz"].oid
# psycopg's own loader: the C one when psycopg[binary] or [c] is installed.
_found_loader = adapters.get_loader(_TIMESTAMPTZ, Format.TEXT)
assert _found_loader is not None  # noqa: S101 (psycopg always has one)
_FastTimestamptzLoader: type[Loader] = _found_loader


class UTCTimestamptzLoader(adapt.Loader):
    # Read by Django's create_cursor(): equal to the connection's, so no cursor
    # registers a loader of its own.
    timezone = datetime.UTC

    def __init__(self, oid: int, context: AdaptContext | None = None) -> None:
        super().__init__(oid, context)
        self._load = _FastTimestamptzLoader(oid, context).load

    def load(self, data) -> datetime.datetime:
        return self._load(data)


@cache
def _adapters_template() -> adapt.AdaptersMap:
    template = adapt.AdaptersMap(get_adapters_template(True, datetime.UTC))
    template.register_loader("timestamptz", UTCTimestamptzLoader)
    return template


class DatabaseWrapper(base.DatabaseWrapper):
    _used_at: float | None = None  # when a request that ran a query last ended

    def get_connection_params(self) -> dict:
        params = super().get_connection_params()
        if settings.USE_TZ and self.timezone == datetime.UTC:
            params["context"] = _adapters_template()
        return params

    def close_if_unusable_or_obsolete(self) -> None:
        # Called as each request starts and ends. health_check_done is set once a
        # request has opened a cursor (or, below, once an error was checked for).
        used = self.health_check_done
        super().close_if_unusable_or_obsolete()
        if self.connection is not None and (used or self.health_check_done):
            self._used_at = time.monotonic()

    def close_if_health_check_failed(self) -> None:
        used_at = self._used_at
        if (
            self.connection is not None
            and used_at is not None
            and time.monotonic() - used_at < HEALTH_CHECK_AFTER_IDLE
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _close(self) -> None:
        self._used_at = None
        super()._close()  # type: ignore[misc]  # django-stubs omit BaseDatabaseWrapper._close
