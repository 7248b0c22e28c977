"""Which CI leg runs a test.

`.ci/run` runs the suite twice, on SQLite and on PostgreSQL. A rehearsal that brings
its own servers (its own database, proxies, processes) gains nothing from the second
run, so it runs in one leg only; the heavy ones are shared out between the two.
"""

from __future__ import annotations

import pytest
from django.conf import settings

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")

sqlite_leg_only = pytest.mark.skipif(
    ON_POSTGRESQL, reason="brings its own servers, so it runs once, in the SQLite leg"
)
postgresql_leg_only = pytest.mark.skipif(
    not ON_POSTGRESQL, reason="runs once, in the PostgreSQL leg"
)
