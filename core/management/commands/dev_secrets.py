"""Writes random SECRET_KEY and JWT_SECRET_KEY into .env when it has none (make run)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from core.dev_secrets import dev_secrets_write


class Command(BaseCommand):
    help = __doc__
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--env-file",
            type=Path,
            default=settings.BASE_DIR / ".env",
            help="The file to complete (default: .env beside manage.py).",
        )

    def handle(self, *args, **options) -> None:
        env_file: Path = options["env_file"]
        written = dev_secrets_write(env_file=env_file)
        if written:
            self.stdout.write(f"Wrote a random {' and '.join(written)} to {env_file}.")
