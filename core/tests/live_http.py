"""A tiny JSON client for tests that talk to pytest-django's live server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


def send_json(method: str, url: str, body: dict, *, bearer: str | None = None) -> int:
    headers = {"Content-Type": "application/json"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
