"""The browser-only middleware passes /api/ requests by and serves pages as before."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from core.browser_middleware import (
    BrowserAuthenticationMiddleware,
    BrowserMessageMiddleware,
    BrowserSessionMiddleware,
)

SEEN: list[HttpRequest] = []


def _view(request):
    SEEN.append(request)
    return HttpResponse("ok")


def _chain():
    # In settings' order: sessions, then auth and messages, which need them.
    return BrowserSessionMiddleware(
        BrowserAuthenticationMiddleware(BrowserMessageMiddleware(_view))
    )


@pytest.mark.django_db
def test_an_api_request_gets_no_session_user_or_messages():
    SEEN.clear()
    _chain()(RequestFactory().get("/api/v1/auth/me/"))
    request = SEEN[-1]
    assert not hasattr(request, "session")
    assert not hasattr(request, "user")
    assert not hasattr(request, "_messages")


@pytest.mark.django_db
def test_a_page_request_still_gets_them():
    SEEN.clear()
    _chain()(RequestFactory().get("/admin/login/"))
    request = SEEN[-1]
    assert hasattr(request, "session")
    assert request.user.is_anonymous
    assert hasattr(request, "_messages")


@pytest.mark.django_db
def test_an_api_answer_still_carries_its_content_length(client):
    # Without it granian sends the body chunked (CommonMiddleware sets it).
    response = client.get("/api/v1/health/")
    assert response["Content-Length"] == str(len(response.content))
