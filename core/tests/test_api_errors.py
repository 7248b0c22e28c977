"""Errors under /api/ are JSON whatever DEBUG says: no technical page, ever."""

from __future__ import annotations

import json
import logging
from http import HTTPStatus

import pytest
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.test import Client

from core.tests.boom_urls import BOOM_MESSAGE
from core.tests.served_app import clean_env, free_port, http_request, runserver


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


def _answer_to(exception: Exception, path: str = "/api/v1/anything/"):
    from django.http import HttpResponse
    from django.test import RequestFactory

    from core.middleware import ApiExceptionMiddleware

    middleware = ApiExceptionMiddleware(lambda request: HttpResponse())
    return middleware.process_exception(RequestFactory().get(path), exception)


@pytest.mark.parametrize(
    ("exception", "status", "code"),
    [
        (Http404(), HTTPStatus.NOT_FOUND, "not_found"),
        (PermissionDenied(), HTTPStatus.FORBIDDEN, "permission_denied"),
        (BadRequest(), HTTPStatus.BAD_REQUEST, "invalid"),
        (SuspiciousOperation("odd"), HTTPStatus.BAD_REQUEST, "invalid"),
        (
            OperationalError("server closed the connection unexpectedly"),
            HTTPStatus.SERVICE_UNAVAILABLE,
            "service_unavailable",
        ),
    ],
    ids=["404", "403", "400", "suspicious", "database"],
)
def test_django_errors_under_api_are_json_with_debug_on(debug, exception, status, code):
    response = _answer_to(exception)

    assert response.status_code == status
    assert json.loads(response.content)["code"] == code


def test_a_suspicious_operation_under_api_is_still_logged_as_security(debug, caplog):
    with caplog.at_level(logging.ERROR, logger="django.security"):
        _answer_to(SuspiciousOperation("odd header"))

    assert [r.name for r in caplog.records] == ["django.security.SuspiciousOperation"]


@pytest.mark.django_db
def test_a_host_not_allowed_under_api_is_a_json_400():
    # DisallowedHost is raised in middleware, before any view: handler400 answers.
    response = Client(HTTP_HOST="attacker.example").get("/api/v1/health/")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid"


@pytest.mark.django_db
def test_a_host_not_allowed_outside_api_is_still_html():
    response = Client(HTTP_HOST="attacker.example").get("/admin/login/")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"].startswith("text/html")


def test_a_permission_denied_outside_a_view_under_api_is_json(rf):
    from core.errors import permission_denied

    response = permission_denied(rf.get("/api/v1/anything/"), PermissionDenied())

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert json.loads(response.content)["code"] == "permission_denied"


def test_errors_outside_api_are_left_to_django(debug):
    assert _answer_to(RuntimeError("boom"), path="/admin/") is None


def test_a_database_that_is_down_answers_503_json_outside_api_too():
    response = _answer_to(OperationalError("connection refused"), path="/admin/")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["code"] == "service_unavailable"
    assert response["Retry-After"] == "1"


def test_drf_answers_a_closed_database_connection_as_503_with_retry_after():
    from core.errors import api_exception_handler

    response = api_exception_handler(InterfaceError("connection already closed"), {})

    assert response is not None
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.data["code"] == "service_unavailable"
    assert response["Retry-After"] == "1"


def test_a_database_error_raised_in_middleware_answers_503_not_500(rf):
    from core.errors import server_error

    # handler500 runs while the exception is being handled.
    try:
        raise OperationalError("the database system is shutting down")
    except OperationalError:
        response = server_error(rf.get("/"))

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert json.loads(response.content)["code"] == "service_unavailable"


def test_runserver_with_debug_on_answers_a_500_without_the_environment(tmp_path):
    canary = "canary-value-no-page-may-show"
    port = free_port()
    env = clean_env(
        tmp_path / "db.sqlite3",
        DJANGO_SETTINGS_MODULE="core.tests.boom_settings",
        DEBUG="true",
        CANARY_URL=f"postgres://user:{canary}@db.example.com/app",
    )
    with runserver(port, env):
        reply = http_request(port, "GET", "/api/v1/boom/")

    assert reply.status == HTTPStatus.INTERNAL_SERVER_ERROR
    assert reply.json()["code"] == "server_error"
    assert canary not in reply.text()
