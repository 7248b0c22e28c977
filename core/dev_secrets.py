"""Random signing keys in a local .env, written once, for `make run`."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from dotenv import dotenv_values

KEY_NAMES = ("SECRET_KEY", "JWT_SECRET_KEY")


def dev_secrets_write(*, env_file: Path) -> list[str]:
    """Appends a random value for each key the file lacks; returns the names written.

    Values already in the file are never changed. A file this creates is readable
    by its owner only.
    """
    present = dotenv_values(env_file) if env_file.exists() else {}
    missing = [name for name in KEY_NAMES if not present.get(name)]
    if not missing:
        return []
    lines = "".join(f"{name}={secrets.token_urlsafe(50)}\n" for name in missing)
    existing = env_file.read_bytes() if env_file.exists() else b""
    if existing and not existing.endswith(b"\n"):
        lines = "\n" + lines
    descriptor = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(lines)
    return missing
