"""What IS_PRODUCTION=true refuses: every unsafe setting, each named on its own."""

from __future__ import annotations

_KNOWN_WEAK_PREFIXES = ("django-insecure", "changeme", "change-me", "secret", "dev")


def _is_weak(key: str) -> bool:
    return not key or key.lower().startswith(_KNOWN_WEAK_PREFIXES) or len(key) < 32


def unsafe_production_settings(
    *,
    secret_key: str,
    jwt_secret_key: str,
    database_engine: str,
    allow_sqlite: bool,
    uses_cloud_storage: bool,
    allow_local_media: bool,
) -> list[str]:
    """Every problem that keeps IS_PRODUCTION=true from starting, in this order."""
    problems = []
    if _is_weak(secret_key):
        problems.append(
            "SECRET_KEY is missing, a known default or shorter than 32 characters"
        )
    if _is_weak(jwt_secret_key):
        problems.append(
            "JWT_SECRET_KEY is missing, a known default or shorter than 32 characters"
        )
    elif jwt_secret_key == secret_key:
        problems.append("JWT_SECRET_KEY must differ from SECRET_KEY")
    if database_engine.endswith("sqlite3") and not allow_sqlite:
        problems.append(
            "DATABASE_URL points at SQLite; set a PostgreSQL URL "
            "(or ALLOW_SQLITE_IN_PRODUCTION=true)"
        )
    if not uses_cloud_storage and not allow_local_media:
        problems.append(
            "uploads would go to the service's own disk, which hosts like Render wipe "
            "on every deploy; set USE_CLOUD_STORAGE=true with a CLOUD_STORAGE_PROVIDER "
            "(or ALLOW_LOCAL_MEDIA_IN_PRODUCTION=true for a persistent disk)"
        )
    return problems
