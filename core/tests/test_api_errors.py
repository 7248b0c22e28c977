"""Errors under /api/ are JSON whatever DEBUG says: no technical page, ever."""

from __future__ import annotations

import logging
from http import HTTPStatus

import pytest
from django.core.signals import got_request_exception
from django.test import Client

from core.tests.boom_urls import BOOM_MESSAGE


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


@pytest.fixture
def boom(settings):
    settings.ROOT_URLCONF = "core.tests.boom_urls"


@pytest.fixture
def signalled():
    """The requests that got_request_exception (Sentry's hook) was sent for."""
    requests = []

    def receiver(sender, request, **kwargs):
        requests.append(request)

    got_request_exception.connect(receiver)
    yield requests
    got_request_exception.disconnect(receiver)


@pytest.mark.django_db
def test_a_500_under_api_with_debug_on_is_json(debug, boom):
    response = Client(raise_request_exception=False).get("/api/v1/boom/")

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "Internal server error.",
        "code": "server_error",
    }


@pytest.mark.django_db
def test_a_500_under_api_with_debug_on_is_still_reported_and_logged(
    debug, boom, signalled, caplog
):
    with caplog.at_level(logging.ERROR, logger="django.request"):
        Client(raise_request_exception=False).post("/api/v1/boom/")

    assert [request.path for request in signalled] == ["/api/v1/boom/"]
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "Internal Server Error: /api/v1/boom/"
    assert BOOM_MESSAGE in str(record.exc_info[1])


@pytest.mark.django_db
@pytest.mark.parametrize("debug_on", [True, False], ids=["debug", "no-debug"])
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_an_unknown_path_under_api_is_a_json_404(settings, method, debug_on):
    settings.DEBUG = debug_on

    response = getattr(Client(enforce_csrf_checks=True), method)(
        "/api/v1/no-such-thing/"
    )

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.django_db
def test_an_unknown_api_version_is_a_json_404(debug):
    response = Client().get("/api/v2/resources/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_a_method_an_api_view_lacks_is_a_json_405(debug):
    response = Client().delete("/api/v1/health/")

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_an_unknown_page_outside_api_is_still_html(debug):
    response = Client().get("/no-such-page")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"].startswith("text/html")
