"""Where uploaded files live: Django's STORAGES["default"], chosen from the environment."""

from __future__ import annotations

from config.env import env_bool


def default_storage_config() -> dict:
    """Local disk under MEDIA_ROOT unless USE_CLOUD_STORAGE picks a provider."""
    if not env_bool("USE_CLOUD_STORAGE", default=False):
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    raise SystemExit("USE_CLOUD_STORAGE=true: cloud providers are not wired in yet.")
