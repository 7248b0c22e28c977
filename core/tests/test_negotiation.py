"""The fast path picks what DRF's own negotiation picks, and refuses what it refuses."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from core.negotiation import FastContentNegotiation
from core.renderers import FastJSONRenderer

RENDERER_SETS = [
    [FastJSONRenderer()],
    [JSONRenderer(), BrowsableAPIRenderer()],
    [BrowsableAPIRenderer(), JSONRenderer()],
]
ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "text/html",
    "application/json; indent=4",
    "text/html, application/json;q=0.9",
    "application/*",
]


def _request(accept: str | None, query: str = "") -> Request:
    request = APIRequestFactory().get(f"/api/v1/x/{query}")
    if accept is not None:
        request.META["HTTP_ACCEPT"] = accept
    return Request(request)


def _pick(negotiation, request, renderers):
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers)
    except NotAcceptable:
        return "406"
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("renderers", RENDERER_SETS)
@pytest.mark.parametrize("accept", ACCEPTS)
def test_it_picks_what_drf_picks(renderers, accept):
    fast = _pick(FastContentNegotiation(), _request(accept), renderers)
    drf = _pick(DefaultContentNegotiation(), _request(accept), renderers)
    assert fast == drf


def test_an_unacceptable_accept_header_is_still_a_406():
    assert (
        _pick(FastContentNegotiation(), _request("image/png"), [FastJSONRenderer()])
        == "406"
    )


def test_the_format_override_still_filters_renderers():
    request = _request("*/*", "?format=api")
    renderers = [JSONRenderer(), BrowsableAPIRenderer()]
    assert _pick(FastContentNegotiation(), request, renderers)[0] == (
        "BrowsableAPIRenderer"
    )
