"""GET /metrics: Prometheus text format, counting requests, behind METRICS_TOKEN."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.apps import apps
from prometheus_client.parser import text_string_to_metric_families

RESPONSES = "django_http_responses_total_by_status_view_method"


def _samples(response) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def _health_200s(client, **headers) -> float:
    samples = _samples(client.get("/metrics", **headers))
    labels = frozenset({"status": "200", "view": "v1:health", "method": "GET"}.items())
    return samples.get((f"{RESPONSES}_total", labels), 0.0)


def test_metrics_are_in_prometheus_text_format(client):
    response = client.get("/metrics")

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/plain; version=")
    names = {name for name, _ in _samples(response)}
    assert "django_http_requests_before_middlewares_total" in names


@pytest.mark.django_db
def test_requests_are_counted_by_view_and_status(client):
    before = _health_200s(client)

    client.get("/api/v1/health/")
    client.get("/api/v1/health/")

    assert _health_200s(client) == before + 2


def test_with_a_token_set_metrics_need_it_as_a_bearer(client, settings):
    settings.METRICS_TOKEN = "scrape-me-please"

    missing = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-pleasE")
    other_scheme = client.get("/metrics", HTTP_AUTHORIZATION="Basic scrape-me-please")
    right = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-please")

    for refused in (missing, wrong, other_scheme):
        assert refused.status_code == HTTPStatus.UNAUTHORIZED
        assert refused.json()["code"] == "not_authenticated"
        assert refused["WWW-Authenticate"].startswith("Bearer")
    assert right.status_code == HTTPStatus.OK
    assert b"# TYPE" in right.content


def test_metrics_are_open_locally_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics").status_code == HTTPStatus.OK


def test_metrics_are_closed_in_production_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    settings.IS_PRODUCTION = True

    response = client.get("/metrics")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "metrics_disabled"


def test_prometheus_middleware_wraps_all_others(settings):
    # Only the load balancer's GET /health is answered ahead of it (core/health.py).
    assert settings.MIDDLEWARE[0] == "core.health.HealthProbeMiddleware"
    assert settings.MIDDLEWARE[1].endswith("PrometheusBeforeMiddleware")
    assert settings.MIDDLEWARE[-1].endswith("PrometheusAfterMiddleware")


def test_database_engines_are_left_as_configured(settings):
    assert "prometheus" not in settings.DATABASES["default"]["ENGINE"]


def test_django_prometheus_is_an_installed_app():
    # Its AppConfig.ready() sets up the exports its settings ask for.
    assert apps.is_installed("django_prometheus")
