"""resources.selectors writes the list's SQL itself: it must read what the ORM would."""

import json
from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from resources.models import Resource
from resources.selectors import RESOURCE_COLUMNS, json_from_text, resource_rows


@pytest.fixture
def listed(approved_user, user_factory, resource_factory):
    other = user_factory()
    now = timezone.now()
    for n, (title, owner) in enumerate(
        [("b", approved_user), ("a", other), ("c", approved_user), ("a", approved_user)]
    ):
        resource_factory(
            owner=owner,
            title=title,
            description=f"number {n}",
            data={"n": n},
            created_at=now - timedelta(minutes=n),
        )
    return approved_user


def orm_rows(queryset) -> list[tuple]:
    return list(queryset.values_list(*RESOURCE_COLUMNS))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "ordering", [None, ["title"], ["-title", "created_at"], ["updated_at"], ["-pk"]]
)
def test_the_rows_are_the_orms_values_in_the_orms_order(listed, ordering):
    queryset = Resource.objects.owned_by(listed)
    if ordering:
        queryset = queryset.order_by(*ordering)

    rows = resource_rows(queryset)

    assert rows[0:10] == orm_rows(queryset)
    assert rows.count() == queryset.count() == 3


@pytest.mark.django_db
def test_a_slice_is_the_orms_slice(listed):
    queryset = Resource.objects.all()

    assert resource_rows(queryset)[1:3] == orm_rows(queryset)[1:3]


@pytest.mark.django_db
def test_search_and_status_filters_are_the_orms(listed):
    queryset = Resource.objects.filter(
        description__icontains="NUMBER 2", status="active"
    )

    rows = resource_rows(queryset)

    assert rows[0:10] == orm_rows(queryset)
    assert rows.count() == 1


@pytest.mark.django_db
def test_a_queryset_that_matches_nothing_has_no_rows(listed):
    rows = resource_rows(Resource.objects.none())

    assert (rows.count(), rows[0:10]) == (0, [])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "queryset",
    [
        lambda: Resource.objects.filter(owner__email="x@example.com"),
        lambda: Resource.objects.annotate(double=F("title")),
        lambda: Resource.objects.distinct(),
        lambda: Resource.objects.order_by("owner"),
    ],
    ids=["join", "annotation", "distinct", "related-ordering"],
)
def test_a_queryset_the_written_sql_would_misread_is_refused(queryset):
    with pytest.raises(ValueError, match="resource_rows"):
        resource_rows(queryset())


@pytest.mark.parametrize(
    "text",
    [
        "123456789012345678901234567890",  # beyond 64 bits: orjson would give a float
        "-9223372036854775809",
        "18446744073709551615",
        '{"n": 1.5e-07, "m": [0.1, -0.0, 1E2]}',
        "NaN",
        '"\\ud800"',  # a lone surrogate
        "[Infinity, -Infinity]",
        '{"a": 1, "a": 2}',
    ],
)
def test_json_from_text_reads_what_json_loads_reads(text):
    assert repr(json_from_text(text)) == repr(json.loads(text))
