from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext


@pytest.mark.django_db
def test_me_returns_the_signed_in_user(approved_user, auth_client):
    response = auth_client(approved_user).get("/api/v1/auth/me/")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["email"] == approved_user.email
    assert response.json()["email_verified"] is True


@pytest.mark.django_db
def test_me_costs_one_query_whatever_the_users_history(
    approved_user, auth_client, sign_in, user_factory
):
    client = auth_client(approved_user)
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/auth/me/")
    for _ in range(5):  # more sessions and more users must not cost more
        sign_in(approved_user)
        user_factory()

    with CaptureQueriesContext(connection) as many:
        response = client.get("/api/v1/auth/me/")

    assert response.status_code == HTTPStatus.OK
    assert len(few) == len(many) == 1


@pytest.mark.django_db
def test_patch_me_updates_name_and_ignores_read_only_fields(approved_user, auth_client):
    client = auth_client(approved_user)

    response = client.patch(
        "/api/v1/auth/me/",
        {
            "full_name": "Alice B.",
            "role": "admin",
            "status": "disabled",
            "email": "x@y.z",
        },
        format="json",
    )

    assert response.status_code == HTTPStatus.OK
    approved_user.refresh_from_db()
    assert approved_user.full_name == "Alice B."
    assert (approved_user.role, approved_user.status) == ("user", "approved")
    assert approved_user.email != "x@y.z"


@pytest.mark.django_db
def test_patch_me_rejects_a_bad_avatar_url(approved_user, auth_client):
    response = auth_client(approved_user).patch(
        "/api/v1/auth/me/", {"avatar_url": "not a url"}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "avatar_url" in response.json()["errors"]


@pytest.mark.django_db
def test_patch_me_refuses_a_name_that_is_not_a_string(approved_user, auth_client):
    # Found by schemathesis: {"full_name": 0} was stored as the name "0".
    response = auth_client(approved_user).patch(
        "/api/v1/auth/me/", {"full_name": 0}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid"
    approved_user.refresh_from_db()
    assert approved_user.full_name == "Alice Approved"


@pytest.mark.django_db
def test_a_user_without_a_picture_has_an_empty_avatar_url(approved_user, auth_client):
    # The schema admits "" here as well as a URL (schemathesis: "" is not a "uri").
    response = auth_client(approved_user).get("/api/v1/auth/me/")

    assert response.json()["avatar_url"] == ""
