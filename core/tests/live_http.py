"""A tiny JSON client for tests that talk to pytest-django's live server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def send_json(
    method: str,
    url: str,
    body: dict,
    *,
    bearer: str | None = None,
    headers: dict[str, str] | None = None,
) -> int:
    status, _ = exchange_json(method, url, body, bearer=bearer, headers=headers)
    return status


def exchange_json(
    method: str,
    url: str,
    body: dict | None = None,
    *,
    bearer: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """Sends JSON, returns the status and the decoded JSON answer (None if empty)."""
    headers = {"Content-Type": "application/json", **(headers or {})}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, _decoded(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _decoded(error.read())


def _decoded(raw: bytes) -> Any:
    return json.loads(raw) if raw else None
