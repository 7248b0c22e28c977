"""Typed readers for environment variables; a bad value fails at start-up."""

from __future__ import annotations

import os
import re

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, *, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, *, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be a whole number, not {raw!r}"
        ) from None


def env_list(name: str, *, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url_prefix(name: str) -> str:
    """A path prefix such as `/gatehouse` (no trailing slash), or "" when unset."""
    raw = os.environ.get(name, "").strip()
    segments = [segment for segment in raw.split("/") if segment]
    if not all(
        _PATH_SEGMENT.fullmatch(segment) and segment.strip(".") for segment in segments
    ):
        raise ImproperlyConfigured(
            f"{name} must be a path such as /gatehouse, not {raw!r}"
        )
    return "".join(f"/{segment}" for segment in segments)
