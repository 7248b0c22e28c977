from http import HTTPStatus

import pytest

from accounts import services
from accounts.models import User
from resources.models import Resource

LIST = "/api/v1/resources/"


def detail(resource) -> str:
    return f"{LIST}{resource.pk}/"


@pytest.mark.django_db
def test_create_returns_the_resource_owned_by_the_caller(approved_user, auth_client):
    response = auth_client(approved_user).post(
        LIST,
        {"title": "Plan", "description": "Q1", "data": {"k": [1, 2]}},
        format="json",
    )

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert set(body) == {
        "id",
        "owner",
        "title",
        "description",
        "data",
        "status",
        "files",
        "share_url",
        "created_at",
        "updated_at",
    }
    assert body["owner"] == {
        "id": str(approved_user.pk),
        "email": approved_user.email,
        "full_name": approved_user.full_name,
    }
    assert (body["status"], body["files"], body["share_url"]) == ("active", [], None)
    assert body["data"] == {"k": [1, 2]}


@pytest.mark.django_db
def test_create_ignores_read_only_fields(approved_user, user_factory, auth_client):
    other = user_factory()

    response = auth_client(approved_user).post(
        LIST,
        {"title": "T", "owner": str(other.pk), "status": "archived", "id": "x"},
        format="json",
    )

    resource = Resource.objects.get()
    assert response.status_code == HTTPStatus.CREATED
    assert (resource.owner, resource.status) == (approved_user, "active")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "title"), ({"title": ""}, "title"), ({"title": "T", "data": [1]}, "data")],
    ids=["missing-title", "blank-title", "data-not-object"],
)
def test_create_rejects_bad_input(approved_user, auth_client, body, field):
    response = auth_client(approved_user).post(LIST, body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()["errors"]
    assert not Resource.objects.exists()


@pytest.mark.django_db
def test_list_shows_only_the_callers_resources(
    approved_user, resource_factory, auth_client
):
    mine = resource_factory(owner=approved_user)
    resource_factory()

    body = auth_client(approved_user).get(LIST).json()

    assert body["count"] == 1
    assert [r["id"] for r in body["results"]] == [str(mine.pk)]


@pytest.mark.django_db
def test_admins_see_every_resource(admin_user, resource_factory, auth_client):
    resource_factory()
    resource_factory()

    assert auth_client(admin_user).get(LIST).json()["count"] == 2


@pytest.mark.django_db
def test_list_paginates_searches_orders_and_filters(
    approved_user, resource_factory, auth_client
):
    for title in ("banana", "apple", "cherry"):
        resource_factory(owner=approved_user, title=title)
    resource_factory(
        owner=approved_user,
        title="old",
        description="an apple pie",
        status=Resource.Status.ARCHIVED,
    )
    client = auth_client(approved_user)

    page = client.get(LIST, {"page_size": 2}).json()
    search = client.get(LIST, {"search": "apple", "ordering": "title"}).json()
    ordered = client.get(LIST, {"ordering": "title", "status": "active"}).json()

    assert (page["count"], len(page["results"]), page["previous"]) == (4, 2, None)
    assert page["next"].startswith("http://testserver/api/v1/resources/?")
    assert [r["title"] for r in search["results"]] == ["apple", "old"]
    assert [r["title"] for r in ordered["results"]] == ["apple", "banana", "cherry"]


@pytest.mark.django_db
def test_page_size_is_capped_at_100(approved_user, resource_factory, auth_client):
    for i in range(105):
        resource_factory(owner=approved_user, title=f"r{i}")

    body = auth_client(approved_user).get(LIST, {"page_size": 500}).json()

    assert len(body["results"]) == 100


@pytest.mark.django_db
def test_read_update_and_delete_own_resource(
    approved_user, resource_factory, auth_client
):
    resource = resource_factory(owner=approved_user, title="Before")
    client = auth_client(approved_user)

    read = client.get(detail(resource))
    patched = client.patch(
        detail(resource), {"title": "After", "status": "archived"}, format="json"
    )
    deleted = client.delete(detail(resource))

    assert read.status_code == HTTPStatus.OK
    assert patched.status_code == HTTPStatus.OK
    assert (patched.json()["title"], patched.json()["status"]) == ("After", "active")
    assert deleted.status_code == HTTPStatus.NO_CONTENT
    assert not Resource.objects.filter(pk=resource.pk).exists()


@pytest.mark.django_db
def test_put_is_not_offered(approved_user, resource_factory, auth_client):
    resource = resource_factory(owner=approved_user)

    response = auth_client(approved_user).put(
        detail(resource), {"title": "x"}, format="json"
    )

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "share/"),
        ("delete", "share/"),
        ("post", "archive/"),
        ("post", "restore/"),
        ("post", "upload/"),
    ],
)
def test_other_users_resources_answer_404(
    approved_user, resource_factory, auth_client, method, suffix
):
    theirs = resource_factory(title="Theirs")

    response = getattr(auth_client(approved_user), method)(f"{detail(theirs)}{suffix}")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"
    theirs.refresh_from_db()
    assert (theirs.title, theirs.status, theirs.share_token) == (
        "Theirs",
        "active",
        None,
    )


@pytest.mark.django_db
def test_unknown_or_malformed_id_is_404(approved_user, auth_client):
    client = auth_client(approved_user)

    assert client.get(f"{LIST}not-a-uuid/").status_code == HTTPStatus.NOT_FOUND
    assert (
        client.get(f"{LIST}00000000-0000-0000-0000-000000000000/").status_code
        == HTTPStatus.NOT_FOUND
    )


@pytest.mark.django_db
def test_anonymous_callers_get_401(api_client):
    assert api_client.get(LIST).status_code == HTTPStatus.UNAUTHORIZED
    assert api_client.post(LIST, {"title": "x"}).status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_a_user_no_longer_approved_gets_401(approved_user, auth_client):
    client = auth_client(approved_user)

    services.user_update(user=approved_user, status=User.Status.PENDING)

    assert client.get(LIST).status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_archive_and_restore(approved_user, resource_factory, auth_client):
    resource = resource_factory(owner=approved_user)
    client = auth_client(approved_user)

    archived = client.post(f"{detail(resource)}archive/")
    restored = client.post(f"{detail(resource)}restore/")

    assert (archived.status_code, archived.json()["status"]) == (
        HTTPStatus.OK,
        "archived",
    )
    assert (restored.status_code, restored.json()["status"]) == (
        HTTPStatus.OK,
        "active",
    )


@pytest.mark.django_db
def test_data_round_trips_as_json(approved_user, auth_client):
    data = {
        "nested": {"list": [1, "two", None, True], "float": 1.5},
        "unicode": "héllo",
    }
    client = auth_client(approved_user)
    created = client.post(LIST, {"title": "T", "data": data}, format="json").json()

    response = client.get(f"{LIST}{created['id']}/")

    assert response.json()["data"] == data
