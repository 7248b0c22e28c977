"""The list builds its JSON from rows; it must be exactly ResourceSerializer's."""

import json
import re
from datetime import timedelta
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.renderers import FastJSONRenderer
from core.storage.local import asset_link_valid
from resources import services
from resources.models import Resource, ResourceFile
from resources.serializers import ResourceSerializer
from resources.tests.test_list_queries import add_files

LIST = "/api/v1/resources/"
SIGNED = re.compile(r"expires=\d+&signature=[^\"&]+")
SIGNED_BYTES = re.compile(rb"expires=\d+&signature=[^\"&]+")
# `data` the list reads as text and decodes itself: numbers at the edges of
# float and 64-bit integer, escapes, and characters the renderer escapes.
TRICKY_DATA = {
    "beyond_64_bits": 2**70,
    "at_64_bits": 2**64 - 1,
    "below_i64": -(2**63) - 1,
    "tiny": 1.5e-7,
    "plain": [0.1, 1.0, -0.0, 10**18, True, None],
    "text": 'quote" back\\ tab\t é \u2028\u2029 \U0001f600',
    "nested": {"z": 1, "a": {"deeper": [[], {}]}},
}


def without_signatures(results: list) -> str:
    """Results as JSON text (key order kept), each link's expiring part blanked."""
    return SIGNED.sub("expires=E&signature=S", json.dumps(results))


@pytest.fixture
def varied_resources(approved_user, user_factory, resource_factory):
    other = user_factory(full_name="Zoë «Other»")
    plain = resource_factory(owner=approved_user, title="plain")
    rich = resource_factory(
        owner=other,
        title="Ünïcode\u2028title",
        description="line\nbreak",
        data={"nested": {"list": [1, 2.5, None, True]}, "text": "é\u2029"},
        status=Resource.Status.ARCHIVED,
        created_at=timezone.now() - timedelta(days=3),
    )
    add_files(rich, 2)
    add_files(plain, 1)
    ResourceFile.objects.create(  # an image: its file JSON lists variants
        resource=plain,
        file=f"resources/{plain.pk}/photo.png",
        name="photo.png",
        content_type="image/png",
        size=1,
        checksum="0" * 64,
    )
    services.resource_share(resource=rich, actor=other)
    return [plain, rich]


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
def test_list_results_equal_the_resource_serializers_json(
    admin_user, auth_client, varied_resources, zone
):
    client = auth_client(admin_user)

    with timezone.override(zone):
        response = client.get(LIST, {"page_size": 100})
        expected = ResourceSerializer(
            Resource.objects.prefetch_related("files"),
            many=True,
            context={"request": response.wsgi_request},
        ).data

    assert response.status_code == HTTPStatus.OK
    assert without_signatures(response.json()["results"]) == without_signatures(
        expected
    )


@pytest.mark.django_db
def test_list_bytes_equal_the_resource_serializers_rendered(
    admin_user, auth_client, varied_resources, resource_factory
):
    resource_factory(owner=admin_user, title="tricky", data=TRICKY_DATA)
    client = auth_client(admin_user)

    response = client.get(LIST, {"page_size": 100})
    results = ResourceSerializer(
        Resource.objects.prefetch_related("files"),
        many=True,
        context={"request": response.wsgi_request},
    ).data
    page = {"count": len(results), "next": None, "previous": None, "results": results}
    expected = FastJSONRenderer().render(page)

    assert response.status_code == HTTPStatus.OK
    assert SIGNED_BYTES.sub(b"S", response.content) == SIGNED_BYTES.sub(b"S", expected)


@pytest.mark.django_db
def test_list_data_keeps_integers_beyond_64_bits_exact(
    approved_user, auth_client, resource_factory
):
    resource_factory(owner=approved_user, data=TRICKY_DATA)

    response = auth_client(approved_user).get(LIST)

    (item,) = response.json()["results"]
    assert item["data"] == TRICKY_DATA
    assert isinstance(item["data"]["beyond_64_bits"], int)


@pytest.mark.django_db
def test_list_file_links_are_signed_and_valid(
    approved_user, auth_client, varied_resources
):
    response = auth_client(approved_user).get(LIST)

    (files,) = [r["files"] for r in response.json()["results"]]
    link = urlsplit(files[0]["url"])
    query = {k: v[0] for k, v in parse_qs(link.query).items()}
    name = link.path.removeprefix("/assets/")
    assert link.netloc == "testserver"
    assert asset_link_valid(name, **query)


@pytest.mark.django_db
def test_list_builds_no_model_instances(approved_user, auth_client, varied_resources):
    client = auth_client(approved_user)
    built = []

    def count(sender, **kwargs):
        built.append(sender)

    post_init.connect(count)
    try:
        response = client.get(LIST, {"page_size": 100})
    finally:
        post_init.disconnect(count)

    assert response.status_code == HTTPStatus.OK
    assert built.count(Resource) == built.count(ResourceFile) == 0


@pytest.mark.django_db
def test_the_list_counts_without_joining_owners(admin_user, auth_client):
    client = auth_client(admin_user)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST)

    (count,) = [q["sql"] for q in queries if "COUNT(" in q["sql"]]
    assert response.status_code == HTTPStatus.OK
    assert "JOIN" not in count
