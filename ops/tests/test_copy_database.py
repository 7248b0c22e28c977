"""manage.py copy_database: a local SQLite file moved to a fresh PostgreSQL, end to end."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from psycopg import sql

from accounts.models import User
from conftest import services_required
from core.models import FileDeletion
from ops.database_copy import databases_registered, models_in_copy_order
from resources.models import Resource

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"


def _server_url() -> str:
    """The PostgreSQL server of the run's DATABASE_URL, else CI's or the local one."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return urlsplit(url)._replace(path="", query="").geturl()
    return os.environ.get("PG_URL_BASE") or DEFAULT_SERVER


def _admin_connection() -> psycopg.Connection:
    return psycopg.connect(
        f"{_server_url()}/postgres", autocommit=True, connect_timeout=3
    )


def _create_database(*, template: str | None = None) -> str:
    name = f"gatehouse_copy_{uuid.uuid4().hex[:12]}"
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with _admin_connection() as connection:
        connection.execute(statement)
    return name


def _drop_database(name: str) -> None:
    with _admin_connection() as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )


def _url(name: str) -> str:
    return f"{_server_url()}/{name}"


@pytest.fixture(scope="module")
def postgres_server() -> None:
    try:
        _admin_connection().close()
    except psycopg.OperationalError as error:
        if services_required():
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {error}")
        pytest.skip(f"PostgreSQL unreachable at {_server_url()}")


@pytest.fixture(scope="module")
def source_url(tmp_path_factory) -> str:
    """A SQLite file migrated and filled by the app's own services, in a subprocess."""
    path = tmp_path_factory.mktemp("copy") / "source.sqlite3"
    url = f"sqlite:///{path}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    subprocess.run(  # noqa: S603 (our interpreter, our module)
        [sys.executable, "-m", "ops.tests.copy_source_seed"],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
        timeout=120,
    )
    return url


@pytest.fixture(scope="module")
def copied(postgres_server, source_url, django_db_blocker) -> Iterator[str]:
    """A fresh, empty PostgreSQL database that one copy_database run has filled."""
    name = _create_database()
    try:
        with django_db_blocker.unblock():
            call_command(
                "copy_database", source=source_url, target=_url(name), verbosity=0
            )
        yield name
    finally:
        _drop_database(name)


@pytest.fixture
def copied_clone(copied) -> Iterator[str]:
    """A throwaway copy of the filled target, for tests that change it."""
    name = _create_database(template=copied)
    yield name
    _drop_database(name)


@pytest.fixture
def databases(django_db_blocker):
    """Opens the two databases under aliases of their own, for reading them back."""

    def opened(**urls: str):
        return databases_registered(**urls)

    with django_db_blocker.unblock():
        yield opened


def _counts(alias: str) -> dict[str, int]:
    return {
        model._meta.label: model._base_manager.using(alias).count()
        for model in models_in_copy_order()
    }


def test_every_table_holds_the_same_rows_as_the_source(copied, source_url, databases):
    with databases(check_source=source_url, check_target=_url(copied)):
        source_counts, target_counts = _counts("check_source"), _counts("check_target")

    assert target_counts == source_counts
    for label in [
        "accounts.User",
        "accounts.AccessRequest",
        "accounts.AuthSession",
        "accounts.User_user_permissions",
        "accounts.User_groups",
        "account.EmailAddress",
        "socialaccount.SocialAccount",
        "sessions.Session",
        "resources.Resource",
        "resources.ResourceFile",
        "admin.LogEntry",
        "core.FileDeletion",
        "contenttypes.ContentType",
        "auth.Permission",
        "sites.Site",
    ]:
        assert source_counts[label] > 0, label


def test_copied_rows_keep_their_values(copied, source_url, databases):
    with databases(check_source=source_url, check_target=_url(copied)):
        fields = ["id", "email", "password", "status", "role", "date_joined"]
        users = {
            alias: list(User.objects.using(alias).order_by("email").values(*fields))
            for alias in ("check_source", "check_target")
        }
        resources = {
            alias: list(
                Resource.objects.using(alias)
                .order_by("title")
                .values("id", "data", "share_token", "created_at", "updated_at")
            )
            for alias in ("check_source", "check_target")
        }
        bob = User.objects.using("check_target").get(email="bob@example.com")
        permissions = list(bob.user_permissions.values_list("codename", flat=True))
        admins = User.objects.using("check_target").get(email="ada@example.com")
        groups = list(admins.groups.values_list("name", flat=True))

    assert users["check_target"] == users["check_source"]
    assert resources["check_target"] == resources["check_source"]
    assert permissions == ["view_filedeletion"]  # content type ids differed
    assert groups == ["admins"]


def test_target_sequences_continue_after_the_copied_ids(copied_clone, databases):
    with databases(check_target=_url(copied_clone)):
        highest = FileDeletion.objects.using("check_target").order_by("-id").first()

        created = FileDeletion.objects.using("check_target").create(path="new.txt")
        group = Group.objects.using("check_target").create(name="editors")

    assert created.id > highest.id
    assert group.id is not None


def test_a_second_run_copies_nothing_and_duplicates_nothing(
    copied, source_url, databases, django_db_blocker, capsys
):
    with django_db_blocker.unblock():
        call_command("copy_database", source=source_url, target=_url(copied))

    assert "nothing copied" in capsys.readouterr().out
    with databases(check_source=source_url, check_target=_url(copied)):
        assert _counts("check_target") == _counts("check_source")


def test_a_target_holding_other_data_is_refused(
    copied_clone, source_url, databases, django_db_blocker
):
    with databases(check_source=source_url, check_target=_url(copied_clone)):
        User.objects.db_manager("check_target").create_user(email="eve@example.com")
        before = _counts("check_target")

    with django_db_blocker.unblock(), pytest.raises(CommandError, match="--replace"):
        call_command("copy_database", source=source_url, target=_url(copied_clone))

    with databases(check_source=source_url, check_target=_url(copied_clone)):
        assert _counts("check_target") == before


def test_replace_overwrites_a_target_holding_other_data(
    copied_clone, source_url, databases, django_db_blocker
):
    with databases(check_source=source_url, check_target=_url(copied_clone)):
        User.objects.db_manager("check_target").create_user(email="eve@example.com")

    with django_db_blocker.unblock():
        call_command(
            "copy_database",
            source=source_url,
            target=_url(copied_clone),
            replace=True,
            batch_size=2,
            verbosity=0,
        )

    with databases(check_source=source_url, check_target=_url(copied_clone)):
        assert _counts("check_target") == _counts("check_source")
        eve = User.objects.using("check_target").filter(email="eve@example.com")
        assert not eve.exists()


def test_an_unmigrated_source_is_refused(tmp_path, django_db_blocker):
    source = tmp_path / "empty.sqlite3"
    source.touch()

    with django_db_blocker.unblock(), pytest.raises(CommandError, match="Migrate it"):
        call_command(
            "copy_database",
            source=f"sqlite:///{source}",
            target=f"sqlite:///{tmp_path / 'target.sqlite3'}",
        )

    assert not Path(tmp_path / "target.sqlite3").exists()
