"""Schemathesis over the whole published schema, as an admin, a user and no one.

Every phase runs (examples, coverage, fuzzing, stateful) with the checks the issue
names. In CI the run is derandomized (fixed seed, no example database, bounded
examples), so it passes or fails the same way every time; `make fuzz` sets
FUZZ_SECONDS for a longer, randomized exploration.
"""

from __future__ import annotations

import sys
import time

import pytest
from django.db import connection
from django.test import RequestFactory

from accounts.models import User
from accounts.sessions import session_start
from core.tests.legs import postgresql_leg_only
from core.tests.schema_fuzz import fuzz, fuzz_seconds, report

pytestmark = [postgresql_leg_only, pytest.mark.django_db(transaction=True)]
SEED = 16
MAX_EXAMPLES = 6  # per operation, in the fuzzing and stateful phases


def _minter(user: User):
    """Signs the persona in on a new session, in the engine's thread."""

    def token() -> str:
        try:
            request = RequestFactory().post("/", HTTP_USER_AGENT="schemathesis")
            return session_start(user=user, request=request)["access"]
        finally:
            connection.close()

    return token


def _schema_operations(client) -> set[str]:
    paths = client.get("/api/v1/schema/?format=json").json()["paths"]
    return {f"{method.upper()} {path}" for path, ops in paths.items() for method in ops}


def _fuzz(persona: str, token):
    seconds = fuzz_seconds()
    start = time.monotonic()
    if seconds:
        run = fuzz(token=token, max_examples=1000, seed=None, max_time=seconds)
    else:
        run = fuzz(token=token, max_examples=MAX_EXAMPLES, seed=SEED)
    summary = report(run, persona, time.monotonic() - start)
    sys.stdout.write(f"{summary}\n")  # the figures; `make fuzz` shows them (-s)
    return run, summary


def _assert_clean_and_complete(run, summary: str, client) -> None:
    assert run.findings == [], summary
    assert run.errors == [], summary
    if fuzz_seconds() is None:  # a short FUZZ_SECONDS may end before these
        assert run.operations == _schema_operations(client), summary
        assert run.cases["stateful"] > 0, summary


@pytest.fixture
def someone_else(user_factory, pending_user, resource_factory):
    """Objects not the persona's: an access request to decide, another's resource."""
    resource_factory(owner=user_factory(), title="Someone else's")


def test_fuzz_as_an_admin(user_factory, someone_else, client):
    admin = user_factory(role=User.Role.ADMIN)

    run, summary = _fuzz("admin", _minter(admin))

    _assert_clean_and_complete(run, summary, client)
    assert 200 in run.statuses["GET /api/v1/admin/users/"], summary


def test_fuzz_as_a_user(user_factory, someone_else, client):
    user = user_factory()

    run, summary = _fuzz("user", _minter(user))

    _assert_clean_and_complete(run, summary, client)
    assert 201 in run.statuses["POST /api/v1/resources/"], summary
    assert run.statuses["GET /api/v1/admin/users/"] <= {400, 401, 403, 404}, summary


def test_fuzz_without_a_token(someone_else, client):
    run, summary = _fuzz("anonymous", None)

    _assert_clean_and_complete(run, summary, client)
    assert run.statuses["GET /api/v1/resources/"] == {401}, summary
