from http import HTTPStatus

import pytest
from django.db import connection


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/health", "/api/v1/health/", "/api/v1/health"])
def test_health_reports_ok_for_database_and_storage(api_client, path):
    response = api_client.get(path)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["storage"] == "ok"
    assert body["cache"] == "ok"
    assert body["version"]


@pytest.mark.django_db
def test_health_answers_503_naming_the_database_when_it_is_down(
    api_client, monkeypatch
):
    def broken_cursor(*args, **kwargs):
        raise connection.Database.OperationalError("server closed the connection")

    monkeypatch.setattr(connection, "cursor", broken_cursor)

    response = api_client.get("/health")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["database"] == "unreachable"
    assert response.json()["storage"] == "ok"
