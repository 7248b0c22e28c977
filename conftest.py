"""Shared fixtures: API client, user factory and the personas the tests use."""

from __future__ import annotations

import contextlib
import itertools
import os
import time
import types
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts import services
from accounts.models import User
from core import throttling
from core.health import readiness_forget

DEFAULT_PASSWORD = "correct-horse-battery-staple"
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
_emails = itertools.count(1)


class SignedInClient(APIClient):
    """An APIClient that keeps the tokens it signed in with (auth_client)."""

    tokens: dict[str, Any]


def services_required() -> bool:
    """In CI a missing PostgreSQL or Redis fails the run instead of skipping."""
    return os.environ.get("REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "assets"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cache.clear()
    readiness_forget()
    yield
    cache.clear()
    readiness_forget()


@pytest.fixture(autouse=True)
def throttle_clock_offset(monkeypatch) -> float:
    """Seconds the throttles' clock runs ahead, so each test starts at a window's start.

    The sign-in throttles count in fixed windows (a second to a day, all dividing a
    day); a test that began just before the real clock's minute turned would see
    its counts reset halfway through. Another process must add the same offset.
    """
    real_time = time.time
    offset = (real_time() // 86400 + 1) * 86400 - real_time()
    clock = types.SimpleNamespace(time=lambda: real_time() + offset)
    monkeypatch.setattr(throttling, "time", clock)
    return offset


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user_factory(db):
    def make(
        *,
        email: str | None = None,
        password: str | None = DEFAULT_PASSWORD,
        status: str = User.Status.APPROVED,
        role: str = User.Role.USER,
        email_verified: bool = True,
        full_name: str = "",
        **fields,
    ) -> User:
        email = email or f"person{next(_emails)}@example.com"
        user = User.objects.create_user(
            email=email, password=password, status=status, full_name=full_name, **fields
        )
        EmailAddress.objects.create(
            user=user, email=user.email, primary=True, verified=email_verified
        )
        if role != User.Role.USER:
            user.set_role(role)
        return user

    return make


@pytest.fixture
def approved_user(user_factory) -> User:
    return user_factory(full_name="Alice Approved")


@pytest.fixture
def pending_user(user_factory) -> User:
    user = user_factory(status=User.Status.PENDING, full_name="Pat Pending")
    services.access_request_open(user=user, reason="Please let me in")
    return user


@pytest.fixture
def admin_user(user_factory) -> User:
    return user_factory(role=User.Role.ADMIN, full_name="Ada Admin")


@pytest.fixture
def sign_in(api_client):
    """Signs a user in through the real login endpoint; returns the token pair."""

    def do(
        user: User, *, password: str = DEFAULT_PASSWORD, client: APIClient | None = None
    ):
        response = (client or api_client).post(
            "/api/v1/auth/login/",
            {"email": user.email, "password": password},
            format="json",
        )
        assert response.status_code == 200, response.content
        return response.json()

    return do


@pytest.fixture
def auth_client(sign_in):
    """An APIClient carrying a bearer token for the given user."""

    def make(user: User) -> SignedInClient:
        client = SignedInClient()
        tokens = sign_in(user, client=client)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        client.tokens = tokens
        return client

    return make


@pytest.fixture
def resource_factory(user_factory):
    from resources.models import Resource

    def make(*, owner: User | None = None, title: str = "A resource", **fields):
        return Resource.objects.create(
            owner=owner or user_factory(), title=title, **fields
        )

    return make


@pytest.fixture(scope="session")
def served_database_template(tmp_path_factory):
    """A migrated SQLite file with an approved admin, for apps run as processes."""
    from core.tests.served_app import migrated_database

    return migrated_database(tmp_path_factory.mktemp("served-database"))


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    with postgres_database() as url:
        yield url


@contextlib.contextmanager
def postgres_database(prefix: str = "gatehouse_fresh") -> Iterator[str]:
    """A new, empty database on the shared server (skipped or failed when it is
    unreachable, as services_required() says); dropped on leaving."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(
            f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3
        )
    except psycopg.OperationalError:
        if services_required():
            raise
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
