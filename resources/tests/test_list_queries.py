"""The resource list costs the same number of queries however much data there is."""

from http import HTTPStatus

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext

from resources.models import ResourceFile


def add_files(resource, count: int) -> None:
    for i in range(count):
        path = default_storage.save(
            f"resources/{resource.pk}/f{i}.txt", ContentFile(b"x")
        )
        ResourceFile.objects.create(
            resource=resource,
            file=path,
            name=f"f{i}.txt",
            content_type="text/plain",
            size=1,
            checksum="0" * 64,
        )


@pytest.mark.django_db
@pytest.mark.parametrize("page_size", [5, 100])
def test_listing_resources_with_files_takes_constant_queries(
    approved_user, resource_factory, auth_client, page_size
):
    client = auth_client(approved_user)
    few = resource_factory(owner=approved_user)
    add_files(few, 1)
    with CaptureQueriesContext(connection) as baseline:
        client.get("/api/v1/resources/", {"page_size": page_size})
    for _ in range(99):
        add_files(resource_factory(owner=approved_user), 2)

    with CaptureQueriesContext(connection) as hundred:
        response = client.get("/api/v1/resources/", {"page_size": page_size})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["count"] == 100
    assert len(hundred) == len(baseline) == 4  # auth, count, page, files
