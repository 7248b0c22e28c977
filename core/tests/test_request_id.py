"""Every response names its request in X-Request-ID; log records carry the same id."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus

import pytest
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import path

from config import urls as project_urls
from core.request_id import (
    RequestIdFilter,
    current_request_id,
    request_id_from_header,
)

GENERATED = re.compile(r"[0-9a-f]{32}")


def _echo(request):
    logging.getLogger("gatehouse.test").info("inside the view")
    return HttpResponse(current_request_id())


urlpatterns = [path("echo/", _echo), *project_urls.urlpatterns]
handler404 = project_urls.handler404
handler500 = project_urls.handler500


@pytest.mark.django_db
def test_an_id_is_generated_when_the_caller_sends_none(client):
    response = client.get("/api/v1/health/")

    assert response.status_code == HTTPStatus.OK
    assert GENERATED.fullmatch(response["X-Request-ID"])


@pytest.mark.django_db
def test_each_request_gets_its_own_id(client):
    first = client.get("/api/v1/health/")["X-Request-ID"]
    second = client.get("/api/v1/health/")["X-Request-ID"]

    assert first != second


@pytest.mark.django_db
def test_a_sane_incoming_id_is_kept(client):
    response = client.get("/api/v1/health/", HTTP_X_REQUEST_ID="edge-1.2_abc")

    assert response["X-Request-ID"] == "edge-1.2_abc"


@pytest.mark.parametrize(
    "incoming",
    [
        "x" * 65,
        "has space",
        "line\nbreak",
        "<script>",
        "semi;colon",
        "ünïcode",
        "",
    ],
    ids=["too-long", "space", "newline", "markup", "semicolon", "non-ascii", "empty"],
)
def test_an_unsafe_incoming_id_is_replaced(incoming):
    assert GENERATED.fullmatch(request_id_from_header(incoming))


def test_the_longest_sane_id_is_kept():
    assert request_id_from_header("a" * 64) == "a" * 64


def test_a_json_404_carries_the_id(client):
    response = client.get("/api/v1/no-such-thing/", HTTP_X_REQUEST_ID="four-oh-four")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"
    assert response["X-Request-ID"] == "four-oh-four"


def test_a_json_500_carries_the_id():
    client = Client(raise_request_exception=False)

    with override_settings(ROOT_URLCONF="core.tests.boom_urls"):
        response = client.get("/api/v1/boom/", HTTP_X_REQUEST_ID="five-hundred")

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert response.json()["code"] == "server_error"
    assert response["X-Request-ID"] == "five-hundred"


@pytest.mark.django_db
def test_html_pages_and_static_misses_carry_the_id(client):
    for path_ in ("/admin/login/", "/static/no-such-file.css", "/no-such-page"):
        assert GENERATED.fullmatch(client.get(path_)["X-Request-ID"]), path_


def test_cors_lets_browsers_read_the_id(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["http://localhost:5173"]

    response = client.get("/api/v1/no-such-thing/", HTTP_ORIGIN="http://localhost:5173")

    assert "X-Request-ID" in response["Access-Control-Expose-Headers"]


@override_settings(ROOT_URLCONF=__name__)
def test_the_view_and_its_log_records_see_the_same_id(client, caplog):
    caplog.handler.addFilter(RequestIdFilter())

    with caplog.at_level(logging.INFO, logger="gatehouse.test"):
        response = client.get("/echo/", HTTP_X_REQUEST_ID="same-id")

    assert response.content == b"same-id"
    [record] = [r for r in caplog.records if r.name == "gatehouse.test"]
    assert record.request_id == "same-id"


def test_outside_a_request_there_is_no_id(client):
    client.get("/api/v1/no-such-thing/")

    assert current_request_id() is None
