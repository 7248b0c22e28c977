"""Seeds the benchmark's data with bulk inserts: approved users, their resources, files.

    python bench/seed.py USERS RESOURCES_PER_USER PASSWORD

Runs against the database in DATABASE_URL (the harness's fresh one), analyses it,
and prints the users' emails, one a line. Every fifth resource gets one file row (no file bytes:
the list endpoint only builds the file's signed URL).
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from allauth.account.models import EmailAddress  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from resources.models import Resource, ResourceFile  # noqa: E402

FILE_EVERY = 5


def seed(
    *, users: int, per_user: int, password: str, file_every: int = FILE_EVERY
) -> list[str]:
    hashed = make_password(password)  # one Argon2 hash shared by every user
    now = timezone.now()
    with transaction.atomic():
        people = User.objects.bulk_create(
            User(
                email=f"bench{n}@example.com",
                full_name=f"Bench User {n}",
                password=hashed,
                status=User.Status.APPROVED,
            )
            for n in range(users)
        )
        EmailAddress.objects.bulk_create(
            EmailAddress(user=user, email=user.email, primary=True, verified=True)
            for user in people
        )
        resources = Resource.objects.bulk_create(
            (
                Resource(
                    owner=user,
                    title=f"Resource {n} of {user.full_name}",
                    description="Seeded for the benchmark. " * 4,
                    data={"n": n, "tags": ["bench", "seed"]},
                    created_at=now - timedelta(seconds=n),
                )
                for user in people
                for n in range(per_user)
            ),
            batch_size=2000,
        )
        ResourceFile.objects.bulk_create(
            (
                ResourceFile(
                    resource=resource,
                    file=f"resources/{resource.pk}/notes.txt",
                    name="notes.txt",
                    content_type="text/plain",
                    size=1024,
                    checksum="0" * 64,
                )
                for resource in resources[::file_every]
            ),
            batch_size=2000,
        )
    # Plans as on tables autovacuum has analysed, as a live database's are within
    # a minute of such a load: fresh statistics say 18 resources per owner.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return [user.email for user in people]


if __name__ == "__main__":
    count, per_user, secret = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    print("\n".join(seed(users=count, per_user=per_user, password=secret)))
