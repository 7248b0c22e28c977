import time
from http import HTTPStatus

import pytest
from django.test import Client

from accounts import services
from resources.tests.files import png_bytes, upload


@pytest.fixture
def resource(approved_user, resource_factory):
    return resource_factory(
        owner=approved_user, title="Shared", description="Public text", data={"a": 1}
    )


def share(client, resource):
    return client.post(f"/api/v1/resources/{resource.pk}/share/")


@pytest.mark.django_db
def test_share_returns_an_unguessable_link(approved_user, resource, auth_client):
    response = share(auth_client(approved_user), resource)

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert len(body["token"]) >= 43  # 32 random bytes, base64url
    assert str(resource.pk) not in body["token"]
    assert (
        body["share_url"]
        == f"http://testserver/api/v1/public/resources/{body['token']}/"
    )


@pytest.mark.django_db
def test_sharing_again_returns_the_same_link(approved_user, resource, auth_client):
    client = auth_client(approved_user)

    first, second = share(client, resource).json(), share(client, resource).json()

    assert first == second
    assert (
        client.get(f"/api/v1/resources/{resource.pk}/").json()["share_url"]
        == first["share_url"]
    )


@pytest.mark.django_db
def test_the_public_link_shows_no_owner_or_private_fields(
    approved_user, resource, auth_client, api_client
):
    client = auth_client(approved_user)
    client.post(
        f"/api/v1/resources/{resource.pk}/upload/",
        {"file": upload("p.png", png_bytes())},
        format="multipart",
    )
    token = share(client, resource).json()["token"]

    response = api_client.get(f"/api/v1/public/resources/{token}/")

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert (body["title"], body["description"], body["data"]) == (
        "Shared",
        "Public text",
        {"a": 1},
    )
    assert "owner" not in body
    assert "share_url" not in body
    assert approved_user.email not in response.content.decode()
    assert body["files"][0]["url"].startswith("http://testserver/assets/")
    assert "signature=" in body["files"][0]["url"]


@pytest.mark.django_db
def test_unsharing_makes_the_old_link_404(
    approved_user, resource, auth_client, api_client
):
    client = auth_client(approved_user)
    token = share(client, resource).json()["token"]

    response = client.delete(f"/api/v1/resources/{resource.pk}/share/")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert api_client.get(f"/api/v1/public/resources/{token}/").status_code == 404
    assert client.get(f"/api/v1/resources/{resource.pk}/").json()["share_url"] is None


@pytest.mark.django_db
def test_sharing_after_unsharing_makes_a_new_token(
    approved_user, resource, auth_client
):
    client = auth_client(approved_user)
    old = share(client, resource).json()["token"]
    client.delete(f"/api/v1/resources/{resource.pk}/share/")

    new = share(client, resource).json()["token"]

    assert new != old


@pytest.mark.django_db
def test_an_unknown_token_is_404(api_client):
    response = api_client.get("/api/v1/public/resources/not-a-real-token/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["disabled", "rejected", "pending"])
def test_the_public_link_is_404_once_the_owner_is_no_longer_approved(
    approved_user, resource, auth_client, api_client, admin_user, status
):
    token = share(auth_client(approved_user), resource).json()["token"]

    services.user_set_status(user=approved_user, status=status, actor=admin_user)

    response = api_client.get(f"/api/v1/public/resources/{token}/")
    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db
def test_file_urls_seen_before_unsharing_stop_working_once_expired(
    approved_user, resource, auth_client, api_client, settings
):
    settings.FILE_URL_EXPIRE_SECONDS = 2  # whole seconds: 1 to 2 s of life
    client = auth_client(approved_user)
    client.post(
        f"/api/v1/resources/{resource.pk}/upload/",
        {"file": upload("p.png", png_bytes())},
        format="multipart",
    )
    token = share(client, resource).json()["token"]
    public = api_client.get(f"/api/v1/public/resources/{token}/").json()
    seen = public["files"][0]["url"].removeprefix("http://testserver")
    assert Client().get(seen).status_code == HTTPStatus.OK

    client.delete(f"/api/v1/resources/{resource.pk}/share/")
    time.sleep(3)

    assert Client().get(seen).status_code == HTTPStatus.NOT_FOUND
