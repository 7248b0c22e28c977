"""Restores a backup into an empty database and the configured storage (ops.backup)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ops.backup import (
    BackupError,
    FolderPlace,
    Place,
    backup_latest,
    backup_restore,
    storage_place,
)
from ops.counts import counted


class Command(BaseCommand):
    help = (
        "Restores a backup written by `backup`: checks every checksum first, then "
        "stores the files and loads the database. The database must be empty "
        "(freshly created or only migrated) unless --replace."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "backup",
            help="A backup folder on this machine, or the name of a backup in the "
            "configured storage (gatehouse-<time>), or `latest` for its newest.",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Overwrite a database that holds data, and stored files whose "
            "content differs from the backup's.",
        )

    def handle(
        self, *args, backup: str, replace: bool, verbosity: int, **options
    ) -> None:
        folder = Path(backup)
        place: Place
        if folder.is_dir():
            place, name = FolderPlace(folder.resolve().parent), folder.resolve().name
        elif len(folder.parts) > 1:
            raise CommandError(f"{backup} is not a folder.")
        else:
            place, name = storage_place(), backup

        def log(message: str) -> None:
            if verbosity >= 1:
                self.stdout.write(message)

        try:
            if name == "latest":
                name = backup_latest(place=place)
            result = backup_restore(place=place, name=name, replace=replace, log=log)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {place.describe(name)}: {counted(len(result.tables), 'table')}, "
                f"{counted(sum(result.tables.values()), 'row')} "
                "(counts equal to the backup's), "
                f"{counted(result.files_written, 'file')} written and "
                f"{result.files_present} already present (checksums equal)."
            )
        )
