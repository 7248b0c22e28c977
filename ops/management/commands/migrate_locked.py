"""Applies pending migrations one run at a time, under the migrate API's lock."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS

from ops.migrations_service import migrations_apply


class Command(BaseCommand):
    help = (
        "Applies pending migrations under the lock POST /api/v1/migrate/ takes, so "
        "two deploy steps starting together never race; a run that waited finds "
        "nothing left to apply."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help="The database to migrate. Default: default.",
        )

    def handle(self, *args, database: str, **options) -> None:
        applied = migrations_apply(using=database)
        if applied:
            self.stdout.write(f"Applied {len(applied)} migration(s).")
        else:
            self.stdout.write("No migrations to apply.")
