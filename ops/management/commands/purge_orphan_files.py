"""Retries queued file removals, then removes stored files that no row points at.

Image variants (`<original>.thumbs/...`) count as referenced while their original
is. Only this deployment's STORAGE_PREFIX is scanned: a bucket may hold other
deployments' files (a staging copy), and none of their rows are in this database.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import models
from django.utils import timezone

from core.file_deletions import file_deletions_run
from core.image_variants import variant_original, variants_delete
from core.models import FileDeletion


def stored_paths(prefix: str) -> Iterator[str]:
    """Every stored object under a folder (a full key prefix), walking the tree."""
    try:
        folders, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{prefix}/{name}"
    for folder in folders:
        yield from stored_paths(f"{prefix}/{folder}")


def referenced_paths() -> set[str]:
    """Every name held by a FileField of any installed model."""
    paths: set[str] = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.FileField):
                names = model._default_manager.exclude(**{field.name: ""})
                paths.update(names.values_list(field.name, flat=True))
    return paths


def _inside_prefix(folder: str) -> str:
    parts = folder.strip("/").split("/")
    if not all(part and part not in {".", ".."} for part in parts):
        raise CommandError(f"--prefix must be a folder name, not {folder!r}")
    return "/".join([settings.STORAGE_PREFIX, *parts])


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=60,
            help="Only remove unreferenced files stored at least this many minutes ago "
            "(an upload in progress is stored before its row commits). Default 60.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="List, remove nothing."
        )
        parser.add_argument(
            "--prefix",
            action="append",
            default=None,
            help="Folders inside STORAGE_PREFIX to scan (repeatable). "
            "Default: resources, avatars.",
        )

    def handle(
        self, *args, older_than: int, dry_run: bool, prefix: list[str] | None, **options
    ) -> None:
        folders = [
            _inside_prefix(folder) for folder in prefix or ["resources", "avatars"]
        ]
        if not dry_run:
            removed, failed = file_deletions_run()
            self.stdout.write(
                f"Queued removals: {removed} done, {failed} still failing."
            )
        else:
            self.stdout.write(
                f"Queued removals waiting: {FileDeletion.objects.count()}."
            )

        cutoff = timezone.now() - timedelta(minutes=older_than)
        known = referenced_paths()
        orphans = []
        for folder in folders:
            for path in stored_paths(folder):
                # A variant is kept while its original is.
                if path in known or variant_original(path) in known:
                    continue
                if default_storage.get_modified_time(path) > cutoff:
                    continue
                orphans.append(path)
        removed_with_original = set(orphans)
        for path in orphans:
            self.stdout.write(
                f"{'Would remove' if dry_run else 'Removing'} orphan {path}"
            )
            if dry_run or variant_original(path) in removed_with_original:
                continue
            variants_delete(path)  # its folder too, young variants included
            default_storage.delete(path)
        self.stdout.write(
            f"Orphans: {len(orphans)}{' (dry run)' if dry_run else ' removed'}."
        )
