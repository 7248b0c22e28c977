"""Django's middleware that only pages for a browser need, passed by for `/api/`.

The JSON API authenticates with bearer tokens, reads no session, shows no flash
messages (accounts.adapters drops allauth's for /api/) and has its own slash and
error handling (core.middleware). Sessions, messages, Django's request.user and
CommonMiddleware's slash, user-agent and Content-Length work cost an API request
about 50 µs for nothing (`bench/profile_paths.py --middleware`); of CommonMiddleware
the API keeps the Host header's check against ALLOWED_HOSTS. Each is a subclass, so
Django's and the admin's checks still find it in MIDDLEWARE.
"""

from __future__ import annotations

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.middleware.common import CommonMiddleware
from django.utils.deprecation import MiddlewareMixin

from core.errors import is_api


class _SkippedForApi(MiddlewareMixin):
    def __call__(self, request: HttpRequest) -> HttpResponse:  # type: ignore[override]
        if is_api(request):
            return self.get_response(request)  # type: ignore[return-value]
        return super().__call__(request)  # type: ignore[return-value]


class BrowserSessionMiddleware(_SkippedForApi, SessionMiddleware):
    pass


class BrowserAuthenticationMiddleware(_SkippedForApi, AuthenticationMiddleware):
    pass


class BrowserMessageMiddleware(_SkippedForApi, MessageMiddleware):
    pass


class BrowserCommonMiddleware(CommonMiddleware):
    def __call__(self, request: HttpRequest) -> HttpResponse:  # type: ignore[override]
        if is_api(request):
            request.get_host()  # DisallowedHost (a 400) as for any other request
            return self.get_response(request)  # type: ignore[return-value]
        return super().__call__(request)  # type: ignore[return-value]
