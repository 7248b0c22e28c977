"""Builds a SQLite database the way the app fills one, for the copy_database tests.

Run in its own process (`python -m ops.tests.copy_source_seed`) with DATABASE_URL
naming the file, so that the services write to it as they would on a laptop.
"""

from __future__ import annotations

import os
from datetime import timedelta


def seed() -> None:
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount
    from django.apps import apps
    from django.contrib.admin.models import ADDITION, LogEntry
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.test import RequestFactory
    from django.utils import timezone

    from accounts import services
    from accounts.models import AccessRequest, User
    from accounts.sessions import session_start
    from core.models import FileDeletion
    from resources.models import Resource, ResourceFile
    from resources.services import resource_create, resource_share

    call_command("migrate", verbosity=0)
    # A content type recreated later gets a new id, so the source's ids differ
    # from those a fresh target's migrate hands out.
    ContentType.objects.get_for_model(FileDeletion).delete()
    call_command(
        "migrate", verbosity=0
    )  # post_migrate recreates it and its permissions

    request = RequestFactory().post("/", HTTP_USER_AGENT="seed/1.0")
    admin = services.user_create_admin(
        email="ada@example.com", password="correct-horse-battery", full_name="Ada"
    )
    bob = services.user_register(
        email="bob@example.com", password="correct-horse-battery", reason="Hi"
    )
    services.access_request_approve(
        access_request=AccessRequest.objects.get(user=bob),
        decided_by=admin,
        note="Welcome",
    )
    bob.refresh_from_db()
    services.user_register(
        email="pat@example.com", password="correct-horse-battery", reason="Me too"
    )
    carol = User.objects.create_user(
        email="carol@example.com",
        status=User.Status.APPROVED,
        auth_provider=User.AuthProvider.GOOGLE,
    )
    EmailAddress.objects.create(
        user=carol, email=carol.email, primary=True, verified=True
    )
    SocialAccount.objects.create(
        user=carol, provider="google", uid="1234567890", extra_data={"name": "Carol"}
    )
    bob.user_permissions.add(Permission.objects.get(codename="view_filedeletion"))

    session_start(user=admin, request=request)
    session_start(user=bob, request=request)
    session = SessionStore()
    session["seen"] = True
    session.create()

    report = resource_create(
        owner=bob, title="Quarterly report", data={"tags": ["q1"], "pages": 12}
    )
    Resource.objects.filter(pk=report.pk).update(
        updated_at=timezone.now() - timedelta(days=3)  # auto_now must not move it
    )
    ResourceFile.objects.create(
        resource=report,
        file=f"resources/{report.pk}/report.pdf",
        name="report.pdf",
        content_type="application/pdf",
        size=2048,
        checksum="0" * 64,
    )
    resource_share(resource=report, actor=bob)
    resource_create(owner=admin, title="Notes", description="Admin's own")
    FileDeletion.objects.create(path="resources/gone.txt", attempts=2)
    LogEntry.objects.log_actions(
        user_id=admin.pk, queryset=[bob], action_flag=ADDITION, change_message="Seed"
    )
    if apps.is_installed("settings_app"):
        preferences_model = apps.get_model("settings_app", "Preferences")
        preferences_model.objects.for_user(bob)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    seed()
