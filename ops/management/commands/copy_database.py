"""Copies every row of every app from one database to another (see ops.database_copy)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ops.counts import counted
from ops.database_copy import DatabaseCopyError, database_copy


class Command(BaseCommand):
    help = (
        "Copies every row of every app from the --source database to the --target "
        "database (e.g. the local SQLite file to a fresh PostgreSQL), migrating the "
        "target first. A target holding other data is refused unless --replace."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--source",
            required=True,
            help="Database URL to read, e.g. sqlite:///db.sqlite3 (left unchanged).",
        )
        parser.add_argument(
            "--target",
            required=True,
            help="Database URL to fill, e.g. postgres://user:password@host:5432/name.",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Empty the target's tables first, even if they hold other data.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=1000,
            help="Rows read and inserted per batch (default 1000).",
        )

    def handle(
        self,
        *args,
        source: str,
        target: str,
        replace: bool,
        batch_size: int,
        verbosity: int,
        **options,
    ) -> None:
        def log(message: str) -> None:
            if verbosity >= 1:
                self.stdout.write(message)

        try:
            result = database_copy(
                source_url=source,
                target_url=target,
                replace=replace,
                batch_size=batch_size,
                log=log,
            )
        except DatabaseCopyError as error:
            raise CommandError(str(error)) from error
        total = sum(result.rows.values())
        if result.copied:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Copied {counted(total, 'row')} in "
                    f"{counted(len(result.rows), 'table')}; "
                    "row counts verified."
                )
            )
        else:
            self.stdout.write(
                f"The target already holds exactly the source's "
                f"{counted(total, 'row')}; "
                "nothing copied."
            )
