"""Concurrent requests on a real server and database: no lost update, no 500."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from http import HTTPStatus

import pytest
from django.db import connection
from django.urls import reverse

from accounts.sessions import session_start
from core.tests.live_http import send_json
from settings_app.models import Preferences

ROUNDS = 8
FIRST_READS = 8


@pytest.fixture
def url(live_server) -> str:
    if connection.vendor != "postgresql":
        pytest.skip("needs a database that serves concurrent connections (PostgreSQL)")
    return f"{live_server.url}{reverse('v1:settings:preferences')}"


@pytest.fixture
def bearer(rf) -> Callable:
    """A new session's access token for the user: one per simulated device."""

    def make(user) -> str:
        tokens = session_start(user=user, request=rf.post("/"))
        return tokens["access"]

    return make


def _at_once(*requests: Callable[[], int]) -> list[int]:
    """Starts every request at the same moment; returns their statuses in order."""
    barrier = threading.Barrier(len(requests))
    statuses: list[int] = [0] * len(requests)

    def run(index: int, request: Callable[[], int]) -> None:
        barrier.wait()
        statuses[index] = request()

    threads = [
        threading.Thread(target=run, args=(index, request))
        for index, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def _patch_if_match(url: str, body: dict, *, bearer: str, etag: str) -> int:
    return send_json("PATCH", url, body, bearer=bearer, headers={"If-Match": etag})


@pytest.mark.django_db(transaction=True)
def test_concurrent_patches_of_different_keys_all_survive(url, bearer, user_factory):
    user = user_factory()
    devices = [bearer(user) for _ in range(4)]

    for round_ in range(ROUNDS):
        flip = round_ % 2 == 0
        patches = [
            {"theme": "dark" if flip else "light"},
            {"items_per_page": round_ + 1},
            {"notifications": {"email": not flip}},
            {"notifications": {"product_updates": flip}},
        ]

        statuses = _at_once(
            *(
                partial(send_json, "PATCH", url, body, bearer=device)
                for body, device in zip(patches, devices, strict=True)
            )
        )

        assert statuses == [HTTPStatus.OK] * len(patches)
        stored = Preferences.objects.get(user=user)
        assert stored.theme == ("dark" if flip else "light")
        assert stored.items_per_page == round_ + 1
        assert stored.notifications == {"email": not flip, "product_updates": flip}
        assert stored.version == 1 + len(patches) * (round_ + 1)


@pytest.mark.django_db(transaction=True)
def test_of_concurrent_patches_with_one_if_match_exactly_one_applies(
    url, bearer, user_factory
):
    user = user_factory()
    device = bearer(user)

    for round_ in range(ROUNDS):
        etag = Preferences.objects.for_user(user).etag

        statuses = _at_once(
            *(
                partial(
                    _patch_if_match,
                    url,
                    {"items_per_page": items},
                    bearer=device,
                    etag=etag,
                )
                for items in (round_ + 1, 90)
            )
        )

        assert sorted(statuses) == [HTTPStatus.OK, HTTPStatus.PRECONDITION_FAILED]
        assert Preferences.objects.get(user=user).version == 2 + round_


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_reads_create_one_row_and_never_fail(
    url, bearer, user_factory
):
    for _ in range(ROUNDS):
        user = user_factory()
        devices = [bearer(user) for _ in range(FIRST_READS)]

        statuses = _at_once(
            *(partial(send_json, "GET", url, {}, bearer=device) for device in devices)
        )

        assert statuses == [HTTPStatus.OK] * FIRST_READS
        assert Preferences.objects.filter(user=user).count() == 1
