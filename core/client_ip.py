from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The caller's address, trusting X-Forwarded-For only for NUM_PROXIES hops."""
    remote_addr = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.NUM_PROXIES <= 0 or not forwarded:
        return remote_addr
    # Each trusted proxy appends the address it saw; anything further left is
    # whatever the client chose to send and is not trusted.
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote_addr
    return hops[-min(settings.NUM_PROXIES, len(hops))]
