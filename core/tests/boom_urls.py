"""The project's URLs plus views that fail on purpose, for the error-reporting tests."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config import urls as project_urls

BOOM_MESSAGE = "boom for the observability tests"


@csrf_exempt
def boom(request: HttpRequest, token: str = "") -> HttpResponse:
    bearer = request.headers.get("Authorization", "")  # a local nothing may report
    raise RuntimeError(f"{BOOM_MESSAGE} ({len(bearer)} characters of credentials)")


urlpatterns = [
    path("api/v1/boom/", boom),
    path("api/v1/boom/<str:token>/", boom),
    *project_urls.urlpatterns,
]
handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500
