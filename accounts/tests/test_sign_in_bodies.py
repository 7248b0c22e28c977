"""Sign-in bodies: a size cap checked before reading, and throttles before parsing."""

import json
from http import HTTPStatus

import pytest
from django.test import Client

from core.tests.request_bodies import CountingInput
from core.tests.web_process import fetch, web_server

LOGIN = "/api/v1/auth/login/"
REFRESH = "/api/v1/auth/refresh/"


def _post(path: str, body: CountingInput, *, content_type: str, **extra):
    return Client().generic(
        "POST",
        path,
        CONTENT_TYPE=content_type,
        CONTENT_LENGTH=str(len(body.data)),
        **{"wsgi.input": body},  # type: ignore[arg-type]  # environ, not a header
        **extra,
    )


def _json_of_size(size: int) -> bytes:
    head = b'{"email": "a@example.com", "password": "'
    return head + b"x" * (size - len(head) - 2) + b'"}'


@pytest.mark.django_db
@pytest.mark.parametrize("path", [LOGIN, REFRESH])
def test_a_json_body_over_the_cap_is_refused_before_it_is_read(path, settings):
    settings.MAX_JSON_BODY = 64 * 1024
    body = CountingInput(_json_of_size(2 * 1024 * 1024))

    response = _post(path, body, content_type="application/json")

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {
        "detail": "The request body is larger than 64 KB.",
        "code": "payload_too_large",
    }
    assert body.read_bytes == 0


@pytest.mark.django_db
def test_the_default_cap_is_one_megabyte(settings):
    body = CountingInput(_json_of_size(settings.MAX_JSON_BODY + 1))

    response = _post(LOGIN, body, content_type="application/json")

    assert settings.MAX_JSON_BODY == 1024 * 1024
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json()["detail"] == "The request body is larger than 1 MB."


@pytest.mark.django_db
def test_a_form_body_over_the_cap_is_refused_too(settings):
    settings.MAX_JSON_BODY = 1024
    body = CountingInput(b"email=a%40example.com&password=" + b"x" * 4096)

    response = _post(LOGIN, body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json()["code"] == "payload_too_large"
    assert body.read_bytes == 0


@pytest.mark.django_db
def test_a_json_body_at_the_cap_is_read(approved_user, settings):
    body = _json_of_size(settings.MAX_JSON_BODY)

    response = Client().post(LOGIN, body, content_type="application/json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "invalid_credentials"


@pytest.mark.django_db
def test_a_multipart_body_to_a_json_endpoint_is_refused_unread(settings):
    # Only the upload endpoints parse multipart; the JSON cap leaves multipart alone.
    settings.MAX_JSON_BODY = 1024
    boundary = "BoUnDaRy"
    payload = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="email"\r\n\r\n'
        "a@example.com\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="password"\r\n\r\n'
        + "x" * 4096
        + f"\r\n--{boundary}--\r\n"
    ).encode()

    body = CountingInput(payload)

    response = _post(
        LOGIN, body, content_type=f"multipart/form-data; boundary={boundary}"
    )

    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert response.json()["code"] == "unsupported_media_type"
    assert body.read_bytes == 0


@pytest.mark.django_db
def test_a_throttled_caller_gets_429_before_its_body_is_parsed(settings):
    settings.THROTTLE_RATES = {"signin_ip": "1/minute", "signin_account": "5/minute"}
    first = json.dumps({"email": "a@example.com", "password": "wrong"}).encode()
    Client().post(LOGIN, first, content_type="application/json")
    malformed = CountingInput(b'{"email": "a@example.com", "password": ')

    response = _post(LOGIN, malformed, content_type="application/json")

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response.json()["code"] == "throttled"
    assert malformed.read_bytes == 0


def test_under_the_web_server_a_chunked_body_is_never_read(tmp_path):
    # Without Content-Length Django reads a body as empty, whatever follows.
    def chunks():
        yield b'{"email": "a@example.com", "password": "'
        for _ in range(32):
            yield b"x" * 65536
        yield b'"}'

    with web_server(
        tmp_path, env={"DATABASE_URL": f"sqlite:///{tmp_path}/db"}
    ) as server:
        answer = fetch(
            f"{server.url}{LOGIN}",
            method="POST",
            headers={"Content-Type": "application/json"},
            body=chunks(),
        )

    assert answer.status == HTTPStatus.BAD_REQUEST
    assert json.loads(answer.body)["errors"] == {
        "email": ["This field is required."],
        "password": ["This field is required."],
    }
