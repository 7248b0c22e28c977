"""The contract's conventions that hold on every /api/ path."""

from http import HTTPStatus

import pytest
from django.test import Client, override_settings
from django.urls import path

from config import urls as project_urls


@pytest.mark.django_db
def test_unknown_api_path_answers_json_404(api_client):
    response = api_client.get("/api/v1/no-such-thing/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.django_db
def test_wrong_method_answers_json_405(api_client):
    response = api_client.delete("/api/v1/health/")

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_post_without_trailing_slash_is_handled_not_redirected(api_client):
    response = api_client.post(
        "/api/v1/auth/login", {"email": "a@example.com", "password": "x"}, format="json"
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "invalid_credentials"


@pytest.mark.django_db
def test_validation_error_lists_fields(api_client):
    response = api_client.post(
        "/api/v1/auth/login/", {"email": "not-an-email"}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"email", "password"}
    assert body["detail"]


@pytest.mark.django_db
def test_missing_bearer_token_answers_not_authenticated(api_client):
    response = api_client.get("/api/v1/auth/me/")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_malformed_bearer_token_answers_token_not_valid(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")

    response = api_client.get("/api/v1/auth/me/")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "token_not_valid"


def _boom(request):
    raise RuntimeError("secret internals")


urlpatterns = [path("api/v1/boom/", _boom), *project_urls.urlpatterns]
handler500 = project_urls.handler500


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_unhandled_error_under_api_is_json_without_traceback():
    client = Client(raise_request_exception=False)

    response = client.get("/api/v1/boom/")

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert response.json() == {
        "detail": "Internal server error.",
        "code": "server_error",
    }
    assert b"secret internals" not in response.content
