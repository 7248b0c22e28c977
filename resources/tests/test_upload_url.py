"""POST /api/v1/resources/{id}/upload-url/: a file fetched from the web, SSRF-safe.

The servers are real, on loopback (core/tests/url_servers.py, url_network.py); only name resolution
and the one test address's place in the policy are patched, at the network edge.
"""

from __future__ import annotations

import hashlib
from http import HTTPStatus
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from core.tests.url_servers import TEST_ADDRESS, redirect, send_body, tls_for
from resources.models import ResourceFile
from resources.tests.files import HTML_BYTES, png_bytes

pytest_plugins = ["core.tests.url_network"]

NAME = "files.example.test"
PNG = png_bytes()


def upload_url_path(resource) -> str:
    return f"/api/v1/resources/{resource.pk}/upload-url/"


@pytest.fixture
def client(approved_user, auth_client):
    return auth_client(approved_user)


@pytest.fixture
def temp_dir(settings, tmp_path) -> Path:
    path = tmp_path / "upload-tmp"
    path.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(path)
    return path


@pytest.fixture
def named(network):
    """Points the test name at the servers' loopback address."""
    network.names[NAME] = str(TEST_ADDRESS)
    return network


def post_url(client, resource, url: str, **extra):
    return client.post(upload_url_path(resource), {"url": url, **extra}, format="json")


def assert_nothing_kept(settings, temp_dir: Path) -> None:
    assert not ResourceFile.objects.exists()
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]
    assert list(temp_dir.iterdir()) == []


def good_file(handler, stop):
    send_body(handler, PNG, content_type="image/png")


@pytest.mark.django_db
def test_a_public_file_is_fetched_and_stored_like_an_upload(
    client, resource, serve, named, temp_dir
):
    server = serve({"/photos/cat.png": good_file})

    response = post_url(client, resource, f"http://{NAME}:{server.port}/photos/cat.png")

    assert response.status_code == HTTPStatus.CREATED, response.content
    body = response.json()
    assert (body["name"], body["content_type"], body["size"]) == (
        "cat.png",
        "image/png",
        len(PNG),
    )
    stored = ResourceFile.objects.get()
    assert stored.checksum == hashlib.sha256(PNG).hexdigest()
    assert stored.file.name.endswith(".png")
    assert f"/resources/{resource.pk}/" in stored.file.name
    with default_storage.open(stored.file.name) as saved:
        assert saved.read() == PNG
    assert list(temp_dir.iterdir()) == []


@pytest.mark.django_db
def test_the_name_is_resolved_once_and_the_connection_goes_to_that_address(
    client, resource, serve, named, temp_dir
):
    server = serve({"/a.png": good_file})

    post_url(client, resource, f"http://{NAME}:{server.port}/a.png")

    assert named.lookups.count(NAME) == 1
    assert named.connections == [(str(TEST_ADDRESS), server.port)]
    assert server.requests == [("/a.png", f"{NAME}:{server.port}")]


@pytest.mark.django_db
def test_a_given_name_is_the_display_name(client, resource, serve, named, temp_dir):
    server = serve({"/download": good_file})

    response = post_url(
        client, resource, f"http://{NAME}:{server.port}/download", name="logo.png"
    )

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["name"] == "logo.png"


@pytest.mark.django_db
def test_three_relative_redirects_are_followed(
    client, resource, serve, named, temp_dir
):
    server = serve(
        {
            "/1": lambda h, s: redirect(h, "/2"),
            "/2": lambda h, s: redirect(h, "3", status=301),
            "/3": lambda h, s: redirect(h, "/final.png", status=307),
            "/final.png": good_file,
        }
    )

    response = post_url(client, resource, f"http://{NAME}:{server.port}/1")

    assert response.status_code == HTTPStatus.CREATED, response.content
    assert response.json()["name"] == "final.png"


@pytest.mark.django_db
def test_a_redirect_loop_is_refused_at_the_fourth_redirect(
    client, resource, serve, named, settings, temp_dir
):
    server = serve({"/loop": lambda h, s: redirect(h, "/loop")})

    response = post_url(client, resource, f"http://{NAME}:{server.port}/loop")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "url_not_allowed"
    assert len(server.requests) == 4  # the URL and three redirects, then no more
    assert_nothing_kept(settings, temp_dir)


@pytest.mark.django_db
def test_a_redirect_to_loopback_is_refused_before_connecting(
    client, resource, serve, named, settings, temp_dir
):
    inside = serve({"/secret.png": good_file}, host="127.0.0.1")
    outside = serve(
        {"/go": lambda h, s: redirect(h, f"http://127.0.0.1:{inside.port}/secret.png")}
    )

    response = post_url(client, resource, f"http://{NAME}:{outside.port}/go")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "url_not_allowed"
    assert inside.requests == []
    assert named.connections == [(str(TEST_ADDRESS), outside.port)]
    assert_nothing_kept(settings, temp_dir)


@pytest.mark.django_db
def test_a_redirect_to_a_name_with_a_private_address_is_refused(
    client, resource, serve, named, settings, temp_dir
):
    named.names["intranet.example.test"] = "10.0.0.1"
    server = serve({"/go": lambda h, s: redirect(h, "http://intranet.example.test/")})

    response = post_url(client, resource, f"http://{NAME}:{server.port}/go")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "url_not_allowed"
    assert named.connections == [(str(TEST_ADDRESS), server.port)]
    assert_nothing_kept(settings, temp_dir)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.png",
        "http://localhost/a.png",
        "http://10.0.0.1/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/a.png",
        "http://[::ffff:127.0.0.1]/a.png",
        "http://[::ffff:7f00:1]/a.png",
        "http://0.0.0.0/a.png",
        "http://127.1/a.png",
        "http://2130706433/a.png",
        "http://0x7f.0.0.1/a.png",
        "http://100.64.0.1/a.png",
        "http://[fe80::1]/a.png",
        "http://224.0.0.1/a.png",
        "http://private.example.test/a.png",
        "ftp://files.example.test/a.png",
        "file:///etc/passwd",
        "gopher://files.example.test/",
        "http://user:secret@files.example.test/a.png",
        "http://user@files.example.test/a.png",
        "http://files.example.test:8080/a.png",
        "http://files.example.test:22/a.png",
        "http:///a.png",
        "not a url",
    ],
)
def test_a_url_the_server_may_not_reach_is_refused_without_connecting(
    client, resource, named, settings, temp_dir, url
):
    named.names["private.example.test"] = "192.168.1.10"

    response = post_url(client, resource, url)

    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "url_not_allowed"
    assert named.connections == []
    assert_nothing_kept(settings, temp_dir)


@pytest.mark.django_db
def test_https_goes_to_the_pinned_address_and_verifies_the_name(
    client, resource, serve, named, monkeypatch, tmp_path, temp_dir
):
    ca_file, tls = tls_for(tmp_path, NAME)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # OpenSSL's default trust store
    server = serve({"/a.png": good_file}, tls=tls)

    response = post_url(client, resource, f"https://{NAME}:{server.port}/a.png")

    assert response.status_code == HTTPStatus.CREATED, response.content
    assert named.connections == [(str(TEST_ADDRESS), server.port)]
    assert server.requests == [("/a.png", f"{NAME}:{server.port}")]


@pytest.mark.django_db
def test_a_certificate_for_another_name_is_a_fetch_failure(
    client, resource, serve, named, monkeypatch, settings, tmp_path, temp_dir
):
    ca_file, tls = tls_for(tmp_path, "other.example.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    server = serve({"/a.png": good_file}, tls=tls)

    response = post_url(client, resource, f"https://{NAME}:{server.port}/a.png")

    assert response.status_code == HTTPStatus.BAD_GATEWAY
    assert response.json() == {
        "detail": f"The TLS certificate of {NAME} could not be verified.",
        "code": "url_fetch_failed",
    }
    assert server.requests == []
    assert_nothing_kept(settings, temp_dir)


@pytest.mark.django_db
def test_a_certificate_from_an_untrusted_issuer_is_a_fetch_failure(
    client, resource, serve, named, settings, tmp_path, temp_dir
):
    _, tls = tls_for(tmp_path, NAME)
    server = serve({"/a.png": good_file}, tls=tls)

    response = post_url(client, resource, f"https://{NAME}:{server.port}/a.png")

    assert response.status_code == HTTPStatus.BAD_GATEWAY
    assert response.json()["code"] == "url_fetch_failed"
    assert server.requests == []
    assert_nothing_kept(settings, temp_dir)


@pytest.mark.django_db
def test_a_declared_length_over_the_cap_is_refused_before_the_body_is_read(
    client, resource, serve, named, settings, temp_dir
):
    settings.MAX_UPLOAD_SIZE = 1000
    settings.UPLOAD_URL_TIMEOUT = 5

    def declares_too_much(handler, stop):
        handler.send_response(200)
        handler.send_header("Content-Length", "1001")
        handler.end_headers()
        handler.wfile.flush()
        stop.wait(10)  # sends no body: reading it would run into the deadline

    server = serve({"/big": declares_too_much})

    response = post_url(client, resource, f"http://{NAME}:{server.port}/big")

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json()["code"] == "file_too_large"
    assert_nothing_kept(settings, temp_dir)


@pytest.mark.django_db
def test_an_endless_stream_without_a_length_is_cut_at_the_cap(
    client, resource, serve, named, settings, temp_dir
):
    settings.MAX_UPLOAD_SIZE = 100_000
    settings.UPLOAD_URL_TIMEOUT = 10

    def endless(handler, stop):
        handler.send_response(200)
        handler.send_header("Connection", "close")
        handler.end_headers()
        while not stop.is_set():
            handler.wfile.write(b"a" * 8192)

    server = serve({"/stream": endless})

    response = post_url(client, resource, f"http://{NAME}:{server.port}/stream")

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json()["code"] == "file_too_large"
    assert_nothing_kept(settings, temp_dir)


@pytest.mark.django_db
def test_a_stream_one_byte_over_the_cap_is_refused_and_one_at_it_accepted(
    client, resource, serve, named, settings, temp_dir
):
    settings.MAX_UPLOAD_SIZE = 1000

    def chunked(size):
        def route(handler, stop):
            handler.send_response(200)
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            handler.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (size, b"a" * size))

        return route

    server = serve({"/at": chunked(1000), "/over": chunked(1001)})

    at = post_url(client, resource, f"http://{NAME}:{server.port}/at", name="a.txt")
    over = post_url(client, resource, f"http://{NAME}:{server.port}/over")

    assert at.status_code == HTTPStatus.CREATED, at.content
    assert over.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert ResourceFile.objects.count() == 1


@pytest.mark.django_db
def test_a_slow_drip_is_cut_off_by_the_total_deadline(
    client, resource, serve, named, settings, temp_dir
):
    settings.UPLOAD_URL_TIMEOUT = 1

    def drip(handler, stop):
        handler.send_response(200)
        handler.send_header("Content-Length", "500")
        handler.end_headers()
        for _ in range(500):  # 25 s in all: each byte well inside a read timeout
            if stop.wait(0.05):
                return
            handler.wfile.write(b"a")
            handler.wfile.flush()

    server = serve({"/drip": drip})

    response = post_url(client, resource, f"http://{NAME}:{server.port}/drip")

    assert response.status_code == HTTPStatus.BAD_GATEWAY
    assert response.json()["code"] == "url_fetch_failed"
    assert "1 second." in response.json()["detail"]
    assert_nothing_kept(settings, temp_dir)


@pytest.mark.django_db
def test_headers_sent_a_byte_at_a_time_are_cut_off_by_the_total_deadline(
    client, resource, serve, named, settings, temp_dir
):
    settings.UPLOAD_URL_TIMEOUT = 1

    def drip_headers(handler, stop):
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(500):
            if stop.wait(0.05):
                return
            handler.wfile.write(b"X")
            handler.wfile.flush()

    server = serve({"/slow": drip_headers})

    response = post_url(client, resource, f"http://{NAME}:{server.port}/slow")

    assert response.status_code == HTTPStatus.BAD_GATEWAY
    assert response.json()["code"] == "url_fetch_failed"
    assert_nothing_kept(settings, temp_dir)


@pytest.mark.django_db
def test_a_server_that_never_answers_is_cut_off(
    client, resource, serve, named, settings, temp_dir
):
    settings.UPLOAD_URL_TIMEOUT = 1
    server = serve({"/silent": lambda handler, stop: stop.wait(30)})

    response = post_url(client, resource, f"http://{NAME}:{server.port}/silent")

    assert response.status_code == HTTPStatus.BAD_GATEWAY
    assert response.json()["code"] == "url_fetch_failed"
    assert_nothing_kept(settings, temp_dir)


@pytest.mark.django_db
def test_an_error_answer_is_a_fetch_failure(
    client, resource, serve, named, settings, temp_dir
):
    server = serve({})

    response = post_url(client, resource, f"http://{NAME}:{server.port}/missing.png")

    assert response.status_code == HTTPStatus.BAD_GATEWAY
    assert response.json() == {
        "detail": "The server answered 404.",
        "code": "url_fetch_failed",
    }
    assert_nothing_kept(settings, temp_dir)


@pytest.mark.django_db
def test_a_name_that_does_not_resolve_is_a_fetch_failure(
    client, resource, named, settings, temp_dir
):
    response = post_url(client, resource, "http://nowhere.example.test/a.png")

    assert response.status_code == HTTPStatus.BAD_GATEWAY
    assert response.json()["code"] == "url_fetch_failed"
    assert named.connections == []


@pytest.mark.django_db
def test_a_refused_connection_is_a_fetch_failure(
    client, resource, serve, named, settings, temp_dir
):
    server = serve({})
    port = server.port
    server.close()  # nothing listens there now

    response = post_url(client, resource, f"http://{NAME}:{port}/a.png")

    assert response.status_code == HTTPStatus.BAD_GATEWAY
    assert response.json()["code"] == "url_fetch_failed"
    assert_nothing_kept(settings, temp_dir)


@pytest.mark.django_db
def test_the_bytes_decide_the_type_whatever_the_server_claims(
    client, resource, serve, named, settings, temp_dir
):
    server = serve(
        {"/img.png": lambda h, s: send_body(h, HTML_BYTES, content_type="image/png")}
    )

    response = post_url(client, resource, f"http://{NAME}:{server.port}/img.png")

    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert response.json()["code"] == "unsupported_file_type"
    assert_nothing_kept(settings, temp_dir)


@pytest.mark.django_db
def test_a_body_without_url_is_invalid(client, resource, named):
    response = client.post(upload_url_path(resource), {}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid"
    assert "url" in response.json()["errors"]


@pytest.mark.django_db
def test_another_users_resource_is_not_found_and_nothing_is_fetched(
    user_factory, resource, auth_client, serve, named, temp_dir
):
    server = serve({"/a.png": good_file})
    stranger = auth_client(user_factory())

    response = post_url(stranger, resource, f"http://{NAME}:{server.port}/a.png")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert server.requests == []


@pytest.mark.django_db
def test_uploads_by_url_are_throttled_per_user(
    client, resource, named, settings, user_factory, auth_client, resource_factory
):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "upload_url_user": "2/hour"}
    someone = user_factory()
    their_client, their_resource = auth_client(someone), resource_factory(owner=someone)

    answers = [
        post_url(client, resource, "http://10.0.0.1/").status_code for _ in "abc"
    ]
    theirs = post_url(their_client, their_resource, "http://10.0.0.1/")

    assert answers == [
        HTTPStatus.BAD_REQUEST,
        HTTPStatus.BAD_REQUEST,
        HTTPStatus.TOO_MANY_REQUESTS,
    ]
    assert theirs.status_code == HTTPStatus.BAD_REQUEST
