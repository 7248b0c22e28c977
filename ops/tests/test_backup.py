"""manage.py backup and restore: demo data backed up, restored into a fresh database.

Runs in both legs, on the leg's own database: the backup reads the test database,
the restore runs as its own process (as an operator would run it) into a new,
empty database (SQLite: a new file; PostgreSQL: conftest's fresh_postgres) and
media folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend
from django.test import RequestFactory

from accounts import services
from accounts.models import AccessRequest, User
from accounts.sessions import session_start
from config.database import database_from_url
from core.audit import record_activity
from core.models import ActivityLog
from core.tests.legs import ON_POSTGRESQL, sqlite_leg_only
from core.tests.served_app import BASE_DIR, clean_env
from ops.backup import MANIFEST, storage_place
from resources.models import ResourceFile
from resources.services import resource_create, resource_file_add, resource_share
from resources.tests.files import PDF_BYTES, png_bytes, upload
from settings_app.services import preferences_update

pytest_plugins = ["core.tests.storage_servers"]

RESTORED = "restored"
RESOURCES, FILES_EACH = 6, 3


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files_under(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): _sha256(path)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@contextmanager
def _database_at(url: str) -> Iterator[BaseDatabaseWrapper]:
    """A connection of its own to a database the test did not set up."""
    config = connections.configure_settings(
        {DEFAULT_DB_ALIAS: {}, RESTORED: database_from_url(url)}
    )[RESTORED]
    wrapper = load_backend(config["ENGINE"]).DatabaseWrapper(config, RESTORED)
    try:
        yield wrapper
    finally:
        wrapper.close()


def _row_counts(database: BaseDatabaseWrapper) -> dict[str, int]:
    """Every table's row count, the tables as Django's introspection lists them."""
    counts = {}
    with database.cursor() as cursor:
        for table in database.introspection.table_names():
            quoted = database.ops.quote_name(table)
            cursor.execute(f"SELECT COUNT(*) FROM {quoted}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts


def _restore(backup: Path, *, database_url: str, media: Path):
    storage_env = {  # a bucket the test configured
        name: value
        for name, value in os.environ.items()
        if name.startswith(("CLOUD_STORAGE_", "USE_CLOUD_STORAGE"))
    }
    env = clean_env(
        media.parent / "unused.sqlite3",
        DATABASE_URL=database_url,
        MEDIA_ROOT=str(media),
        STORAGE_PREFIX=settings.STORAGE_PREFIX,
        **storage_env,
    )
    return subprocess.run(  # noqa: S603 (our interpreter, our manage.py)
        [sys.executable, "manage.py", "restore", str(backup)],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _flip_a_byte(path: Path) -> None:
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF  # same size, other bytes
    path.write_bytes(bytes(content))


def _only_backup(folder: Path) -> Path:
    (backup,) = folder.iterdir()
    return backup


@pytest.fixture
def empty_database_url(request, tmp_path) -> str:
    """A new, empty database of the leg's kind."""
    if ON_POSTGRESQL:
        return request.getfixturevalue("fresh_postgres")
    return f"sqlite:///{tmp_path / 'restored.sqlite3'}"


@pytest.fixture
def demo(user_factory, admin_user, pending_user) -> dict[str, int]:
    """Users, access requests, sessions, resources with files, avatars, settings, audit."""
    request = RequestFactory().post("/", HTTP_USER_AGENT="backup-test/1.0")
    services.access_request_approve(
        access_request=AccessRequest.objects.get(user=pending_user),
        decided_by=admin_user,
        note="Welcome",
    )
    people = [user_factory(full_name=f"Person {n}") for n in range(3)]
    for number, person in enumerate(people[:2]):
        services.user_set_avatar(
            user=person, upload=upload(f"me{number}.png", png_bytes(2 + number, 2))
        )
    for number in range(RESOURCES):
        owner = people[number % len(people)]
        resource = resource_create(
            owner=owner, title=f"Report {number}", data={"pages": number}
        )
        resource_file_add(
            resource=resource,
            upload=upload(f"r{number}.pdf", PDF_BYTES + b"%" * number),
        )
        resource_file_add(
            resource=resource,
            upload=upload(f"r{number}.txt", f"notes {number}\n".encode()),
        )
        resource_file_add(
            resource=resource,
            upload=upload(f"r{number}.csv", f"a,b\n{number},{number}\n".encode()),
        )
        if number % 2:
            resource_share(resource=resource, actor=owner)
    for person in people:
        session_start(user=person, request=request)
        preferences_update(user=person, changes={"theme": "dark"})
    record_activity(action=ActivityLog.Action.STATUS_CHANGED, actor=admin_user)
    return {"files": RESOURCES * FILES_EACH + 2}


@pytest.fixture
def backed_up(demo, tmp_path) -> Path:
    """One backup of the demo data, written by the command to a local folder."""
    call_command("backup", output=tmp_path / "backups", verbosity=0)
    return _only_backup(tmp_path / "backups")


@pytest.mark.django_db(transaction=True)
def test_restore_into_a_fresh_database_brings_back_every_row_and_file(
    backed_up, demo, empty_database_url, tmp_path
):
    media = tmp_path / "restored-assets"

    result = _restore(backed_up, database_url=empty_database_url, media=media)

    assert result.returncode == 0, result.stderr
    source_counts = _row_counts(connection)
    with _database_at(empty_database_url) as restored:
        restored_counts = _row_counts(restored)
    assert restored_counts == source_counts
    for table in [
        "accounts_user",
        "accounts_accessrequest",
        "accounts_authsession",
        "account_emailaddress",
        "resources_resource",
        "resources_resourcefile",
        "settings_app_preferences",
        "core_activitylog",
        "django_migrations",
    ]:
        assert source_counts[table] > 0, table
    source_files = _files_under(Path(settings.MEDIA_ROOT))
    assert len(source_files) == demo["files"]
    assert _files_under(media) == source_files


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_database_that_holds_data(backed_up):
    before = _row_counts(connection)  # the demo data the backup was taken from

    with pytest.raises(CommandError, match=r"already holds data: .*accounts_user \("):
        call_command("restore", str(backed_up), verbosity=0)

    assert _row_counts(connection) == before


@pytest.mark.django_db(transaction=True)
def test_replace_overwrites_a_database_that_holds_data(backed_up, user_factory):
    manifest = json.loads((backed_up / MANIFEST).read_text())
    user_factory(email="eve@example.com")  # signed up after the backup

    call_command("restore", str(backed_up), replace=True, verbosity=0)

    assert not User.objects.filter(email="eve@example.com").exists()
    assert _row_counts(connection) == manifest["database"]["tables"]


@pytest.mark.django_db(transaction=True)
def test_a_damaged_file_is_refused_before_anything_is_restored(
    backed_up, empty_database_url, tmp_path
):
    victim = next((backed_up / "files").rglob("*.pdf"))
    _flip_a_byte(victim)
    media = tmp_path / "restored-assets"

    result = _restore(backed_up, database_url=empty_database_url, media=media)

    assert result.returncode == 1
    assert f"{victim.name} does not match the manifest" in result.stderr
    assert "Nothing was restored" in result.stderr
    assert not media.exists() or not _files_under(media)
    with _database_at(empty_database_url) as restored:
        assert restored.introspection.table_names() == []


@pytest.mark.django_db(transaction=True)
def test_a_damaged_database_dump_is_refused(backed_up):
    (dump,) = backed_up.glob("database.*")
    _flip_a_byte(dump)

    # The checksums are checked before the database is: this one holds data too.
    with pytest.raises(CommandError, match=f"{dump.name} does not match the manifest"):
        call_command("restore", str(backed_up), verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_manifest_lists_every_stored_file_with_its_checksum(backed_up, demo):
    manifest = json.loads((backed_up / MANIFEST).read_text())

    listed = {entry["name"]: entry["sha256"] for entry in manifest["files"]}

    stored = _files_under(Path(settings.MEDIA_ROOT))
    assert listed == stored
    referenced = set(ResourceFile.objects.values_list("file", flat=True))
    referenced |= set(
        User.objects.exclude(avatar_file="").values_list("avatar_file", flat=True)
    )
    assert set(listed) == referenced
    assert manifest["database"]["tables"] == _row_counts(connection)
    assert manifest["missing_files"] == []


@pytest.mark.django_db(transaction=True)
def test_a_file_missing_from_storage_is_listed_and_fails_the_run(demo, tmp_path):
    lost = ResourceFile.objects.order_by("file").first().file.name
    (Path(settings.MEDIA_ROOT) / lost).unlink()

    with pytest.raises(
        CommandError, match="1 stored file that rows point at was missing"
    ):
        call_command("backup", output=tmp_path / "backups", verbosity=0)

    manifest = json.loads((_only_backup(tmp_path / "backups") / MANIFEST).read_text())
    assert manifest["missing_files"] == [lost]
    assert len(manifest["files"]) == demo["files"] - 1


@pytest.mark.django_db(transaction=True)
def test_keep_removes_all_but_the_newest_backups(tmp_path):
    backups_folder = tmp_path / "kept"
    stale = backups_folder / "gatehouse-20000101T000000.000000Z"  # failed half-way
    (stale / "files").mkdir(parents=True)
    unrelated = backups_folder / "notes.txt"
    unrelated.write_text("not a backup")

    for _ in range(3):
        call_command("backup", output=backups_folder, keep=2, verbosity=0)

    backups = sorted(p.name for p in backups_folder.iterdir() if p.is_dir())
    assert len(backups) == 2
    assert stale.name not in backups
    assert all((backups_folder / name / MANIFEST).is_file() for name in backups)
    assert unrelated.exists()


@pytest.mark.django_db(transaction=True)
def test_a_backup_in_the_configured_storage_restores_by_name(
    demo, empty_database_url, tmp_path
):
    call_command("backup", verbosity=0)  # no --output: default storage, backups/
    media = Path(settings.MEDIA_ROOT)
    (backup,) = (media / settings.STORAGE_PREFIX / "backups").iterdir()

    result = _restore(Path("latest"), database_url=empty_database_url, media=media)

    assert result.returncode == 0, result.stderr
    assert backup.name in result.stdout
    assert f"0 files written and {demo['files']} already present" in result.stdout
    with _database_at(empty_database_url) as restored:
        assert _row_counts(restored) == _row_counts(connection)


def _render_cron_job() -> dict:
    blueprint = yaml.safe_load((BASE_DIR / "render.yaml").read_text())
    (job,) = [service for service in blueprint["services"] if service["type"] == "cron"]
    return job


@pytest.mark.django_db(transaction=True)
def test_keep_also_prunes_backups_in_the_configured_storage():
    call_command("backup", verbosity=0)
    (older,) = storage_place().names()

    call_command("backup", keep=1, verbosity=0)

    (newer,) = storage_place().names()
    assert newer > older
    assert not (Path(settings.MEDIA_ROOT) / storage_place().prefix / older).exists()


@pytest.mark.django_db(transaction=True)
def test_the_render_cron_job_writes_a_backup_to_the_storage_nightly():
    job = _render_cron_job()
    program, script, command, *arguments = shlex.split(job["startCommand"])
    minute, hour, *every = job["schedule"].split()

    call_command(command, *arguments, verbosity=0)  # run as Render would

    assert (program, script, command) == ("python", "manage.py", "backup")
    assert "--keep" in arguments
    assert minute.isdigit()
    assert hour.isdigit()
    assert every == ["*", "*", "*"]  # once a day
    (name,) = storage_place().names()
    assert storage_place().exists(f"{name}/{MANIFEST}")
    assert "manage.py" not in (BASE_DIR / job["buildCommand"]).read_text()


def _objects(s3_client, bucket: str) -> dict[str, str]:
    listed = s3_client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {
        item["Key"]: hashlib.sha256(
            s3_client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        ).hexdigest()
        for item in listed
    }


@pytest.fixture
def bucket(s3_env, storage_from_env) -> str:
    """A new S3 bucket (moto's server) as the configured storage."""
    storage_from_env()
    return s3_env


# The bucket is the same in both legs; moto's server runs once, in the SQLite one.
@sqlite_leg_only
@pytest.mark.django_db(transaction=True)
def test_a_file_lost_from_the_bucket_comes_back_from_the_backup_in_it(
    bucket, s3_client, request, empty_database_url, tmp_path
):
    demo = request.getfixturevalue("demo")  # uploaded once the bucket is the storage
    call_command("backup", verbosity=0)
    backups = f"{settings.STORAGE_PREFIX}/backups/"
    stored = _objects(s3_client, bucket)
    uploads = {key: sha for key, sha in stored.items() if not key.startswith(backups)}
    copies = [key for key in stored if key.startswith(backups) and "/files/" in key]
    assert len(uploads) == len(copies) == demo["files"]
    lost = sorted(uploads)[0]
    s3_client.delete_object(Bucket=bucket, Key=lost)

    result = _restore(
        Path("latest"), database_url=empty_database_url, media=tmp_path / "unused"
    )

    assert result.returncode == 0, result.stderr
    assert f"1 file written and {demo['files'] - 1} already present" in result.stdout
    after = _objects(s3_client, bucket)
    assert {key: sha for key, sha in after.items() if key in uploads} == uploads
