"""Writes a backup: the database dump and every stored file (see ops.backup)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ops.backup import BackupError, FolderPlace, Place, backup_create, storage_place
from ops.counts import counted


class Command(BaseCommand):
    help = (
        "Writes a timestamped backup (a consistent database dump, every stored file "
        "and a manifest of checksums) to --output DIR, or to the configured storage "
        "under <STORAGE_PREFIX>/backups/. --keep N then removes all but the newest N."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--output",
            type=Path,
            default=None,
            help="A local folder to write the backup into (created if missing). "
            "Default: the configured storage.",
        )
        parser.add_argument(
            "--keep",
            type=int,
            default=None,
            help="Keep only the newest N complete backups there (default: keep all).",
        )

    def handle(
        self, *args, output: Path | None, keep: int | None, verbosity: int, **options
    ) -> None:
        place: Place = FolderPlace(output) if output else storage_place()

        def log(message: str) -> None:
            if verbosity >= 1:
                self.stdout.write(message)

        try:
            result = backup_create(place=place, keep=keep, log=log)
        except BackupError as error:
            raise CommandError(str(error)) from error
        rows = sum(result.tables.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup {place.describe(result.name)} written: "
                f"{counted(len(result.tables), 'table')}, {counted(rows, 'row')}, "
                f"{counted(result.files, 'file')} "
                f"({counted(result.files_bytes, 'byte')})."
            )
        )
        for name in result.removed:
            self.stdout.write(f"Removed the older backup {name} (--keep {keep}).")
        if result.missing:
            for name in result.missing:
                self.stderr.write(f"Missing from storage: {name}")
            raise CommandError(
                f"{counted(len(result.missing), 'stored file')} that rows point at "
                f"{'was' if len(result.missing) == 1 else 'were'} missing "
                "(listed above and in the manifest's missing_files); the backup "
                "holds everything else."
            )
