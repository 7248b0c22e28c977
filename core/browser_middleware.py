"""Django's middleware that only pages for a browser need, passed by for `/api/`.

The JSON API authenticates with bearer tokens, reads no session and shows no flash
messages (accounts.adapters drops allauth's for /api/): sessions, messages and
Django's request.user cost an API request about 35 µs for nothing
(`bench/profile_paths.py --middleware`). CommonMiddleware stays for all: its Host
check (ALLOWED_HOSTS) and Content-Length matter to the API too. Each is a
subclass, so Django's and the admin's checks still find it in MIDDLEWARE.
"""

from __future__ import annotations

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
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
