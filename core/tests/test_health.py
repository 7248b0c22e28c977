import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus

import pytest
from django.db import connection
from django.test import Client

from core import health


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


@pytest.mark.django_db
def test_the_load_balancer_probe_keeps_the_request_id_and_security_headers(client):
    response = client.get("/health", HTTP_X_REQUEST_ID="lb-probe-1")

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/json"
    assert response["X-Request-ID"] == "lb-probe-1"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_the_load_balancer_probe_refuses_other_hosts(client):
    response = client.get("/health", HTTP_HOST="attacker.example")

    assert response.status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.django_db
def test_a_database_outage_is_seen_once_the_cached_result_expires(
    api_client, monkeypatch, settings
):
    settings.HEALTH_CACHE_SECONDS = 1
    assert api_client.get("/health").status_code == HTTPStatus.OK

    def broken_cursor(*args, **kwargs):
        raise connection.Database.OperationalError("server closed the connection")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    cached = api_client.get("/health")
    time.sleep(1.1)
    expired = api_client.get("/health")

    assert cached.status_code == HTTPStatus.OK  # within the interval: no query
    assert expired.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert expired.json()["database"] == "unreachable"


@pytest.mark.django_db(transaction=True)
def test_concurrent_probes_during_a_refresh_query_the_database_once(
    monkeypatch, settings
):
    settings.HEALTH_CACHE_SECONDS = 60
    probed = []
    real_probe = health.database_problem

    def slow_probe():
        probed.append(threading.get_ident())
        time.sleep(0.3)  # a slow database: the other probes arrive meanwhile
        return real_probe()

    monkeypatch.setattr(health, "database_problem", slow_probe)

    def probe(_):
        try:
            return Client().get("/health").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(probe, range(8)))

    assert statuses == [HTTPStatus.OK] * 8
    assert len(probed) == 1
