"""DATABASES entries from URLs: PostgreSQL through core.postgresql's backend."""

from __future__ import annotations

import dj_database_url

DJANGO_POSTGRESQL = "django.db.backends.postgresql"
POSTGRESQL = "core.postgresql"


def database_from_url(url: str, **options) -> dj_database_url.DBConfig:
    config = dj_database_url.parse(url, **options)
    if config["ENGINE"] == DJANGO_POSTGRESQL:
        config["ENGINE"] = POSTGRESQL
    return config
