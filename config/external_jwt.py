"""EXTERNAL_JWT_ISSUERS from the environment: identity providers whose bearer
tokens the API accepts. Off (an empty list) unless configured; a half-configured
issuer fails at start-up rather than accepting tokens it cannot check."""

from __future__ import annotations

import json
import os
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured


def external_jwt_issuers_from_env(*, is_production: bool) -> list[dict]:
    """One issuer from EXTERNAL_JWT_ISSUER, _JWKS_URL and _AUDIENCE, and/or any
    number from EXTERNAL_JWT_ISSUERS_JSON: a JSON list of
    {"issuer": ..., "jwks_url": ..., "audience": "aud" or ["aud", ...]}."""
    entries: list[dict] = []
    issuer = os.environ.get("EXTERNAL_JWT_ISSUER", "").strip()
    if issuer:
        entries.append(
            {
                "issuer": issuer,
                "jwks_url": os.environ.get("EXTERNAL_JWT_JWKS_URL", "").strip(),
                "audience": os.environ.get("EXTERNAL_JWT_AUDIENCE", ""),
            }
        )
    raw = os.environ.get("EXTERNAL_JWT_ISSUERS_JSON", "").strip()
    if raw:
        try:
            listed = json.loads(raw)
        except ValueError:
            raise ImproperlyConfigured(
                "EXTERNAL_JWT_ISSUERS_JSON must be a JSON list of objects"
            ) from None
        if not isinstance(listed, list) or not all(
            isinstance(item, dict) for item in listed
        ):
            raise ImproperlyConfigured(
                "EXTERNAL_JWT_ISSUERS_JSON must be a JSON list of objects"
            )
        entries.extend(listed)
    issuers = [_issuer(entry, is_production=is_production) for entry in entries]
    names = [item["issuer"] for item in issuers]
    if len(set(names)) != len(names):
        raise ImproperlyConfigured("An external JWT issuer is configured twice")
    return issuers


def _issuer(entry: dict, *, is_production: bool) -> dict:
    issuer = str(entry.get("issuer") or "").strip()
    jwks_url = str(entry.get("jwks_url") or "").strip()
    audience = entry.get("audience") or ""
    audiences = (
        [str(a).strip() for a in audience]
        if isinstance(audience, list)
        else str(audience).split(",")
    )
    audiences = [a.strip() for a in audiences if a.strip()]
    if not issuer or not jwks_url or not audiences:
        raise ImproperlyConfigured(
            f"External JWT issuer {issuer or '(unnamed)'!r} needs an issuer, "
            "a JWKS URL and an audience"
        )
    scheme = urlsplit(jwks_url).scheme
    if scheme not in ("https", "http") or (is_production and scheme != "https"):
        raise ImproperlyConfigured(
            f"The JWKS URL of external JWT issuer {issuer!r} must be an https URL"
        )
    return {"issuer": issuer, "jwks_url": jwks_url, "audiences": audiences}
