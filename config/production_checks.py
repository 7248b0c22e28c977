"""Start-up refusal for production: one clear line on stderr, exit status 1."""

from __future__ import annotations

_KNOWN_WEAK_PREFIXES = ("django-insecure", "changeme", "change-me", "secret", "dev")


def _is_weak(key: str) -> bool:
    return not key or key.lower().startswith(_KNOWN_WEAK_PREFIXES) or len(key) < 32


def refuse_unsafe_production(
    *,
    secret_key: str,
    jwt_secret_key: str,
    database_engine: str,
    allow_sqlite: bool,
    uses_cloud_storage: bool,
    allow_local_media: bool,
) -> None:
    """Exits the process when IS_PRODUCTION=true meets an unsafe setting."""
    problem = None
    if _is_weak(secret_key):
        problem = "SECRET_KEY is missing, a known default or shorter than 32 characters"
    elif _is_weak(jwt_secret_key):
        problem = (
            "JWT_SECRET_KEY is missing, a known default or shorter than 32 characters"
        )
    elif jwt_secret_key == secret_key:
        problem = "JWT_SECRET_KEY must differ from SECRET_KEY"
    elif database_engine.endswith("sqlite3") and not allow_sqlite:
        problem = (
            "DATABASE_URL points at SQLite; set a PostgreSQL URL "
            "(or ALLOW_SQLITE_IN_PRODUCTION=true)"
        )
    elif not uses_cloud_storage and not allow_local_media:
        problem = (
            "uploads would go to the service's own disk, which hosts like Render wipe "
            "on every deploy; set USE_CLOUD_STORAGE=true with a CLOUD_STORAGE_PROVIDER "
            "(or ALLOW_LOCAL_MEDIA_IN_PRODUCTION=true for a persistent disk)"
        )
    if problem:
        raise SystemExit(
            f"Gatehouse refuses to start with IS_PRODUCTION=true: {problem}."
        )
