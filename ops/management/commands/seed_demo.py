"""Demo data for a local run: an admin, an approved user and a pending request."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.sites.models import Site
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings

from accounts import services
from accounts.models import User

ADMIN_EMAIL = "admin@example.com"
USER_EMAIL = "user@example.com"
PENDING_EMAIL = "pending@example.com"
CONSOLE_EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"


class Command(BaseCommand):
    help = "Creates (or resets the passwords of) three demo accounts and prints them."

    def handle(self, *args, **options) -> None:
        if settings.IS_PRODUCTION:
            raise CommandError("seed_demo does not run with IS_PRODUCTION=true.")
        # Demo sign-ups would otherwise mail the demo admin.
        quiet = override_settings(
            EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"
        )
        with quiet, transaction.atomic():
            _site_follow_base_url()
            rows = [
                ("admin", ADMIN_EMAIL, self._admin()),
                ("approved user", USER_EMAIL, self._user(USER_EMAIL, approved=True)),
                (
                    "pending request",
                    PENDING_EMAIL,
                    self._user(PENDING_EMAIL, approved=False),
                ),
            ]
        self.stdout.write(
            self.style.SUCCESS("Demo accounts (passwords are new each run):")
        )
        for label, email, password in rows:
            self.stdout.write(f"  {label:<16} {email:<22} {password}")
        self.stdout.write(
            f"Server: {settings.BASE_URL}/ (the admin at /admin/, the API docs at "
            "/docs)"
        )
        self.stdout.write(f"Emails: {_where_emails_go()}")
        # token_urlsafe passwords need no quoting in a shell.
        self.stdout.write(
            "For the guides' curl examples, paste in the terminal you run them in:\n"
            f"  export ADMIN_PASSWORD={rows[0][2]} USER_PASSWORD={rows[1][2]}"
        )

    def _admin(self) -> str:
        return self._with_new_password(ADMIN_EMAIL, self._create_admin)

    def _user(self, email: str, *, approved: bool) -> str:
        return self._with_new_password(
            email, lambda email, password: self._create_user(email, password, approved)
        )

    def _with_new_password(self, email: str, create) -> str:
        password = secrets.token_urlsafe(12)
        user = User.objects.filter(email=email).first()
        if user is None:
            create(email, password)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        return password

    def _create_admin(self, email: str, password: str) -> None:
        services.user_create_admin(
            email=email, password=password, full_name="Ada Admin"
        )

    def _create_user(self, email: str, password: str, approved: bool) -> None:
        user = User.objects.create_user(
            email=email,
            password=password,
            full_name="Uma User" if approved else "Pat Pending",
        )
        EmailAddress.objects.create(
            user=user, email=email, primary=True, verified=approved
        )
        request = services.access_request_open(
            user=user, reason="Demo: I would like to try Gatehouse."
        )
        if approved:
            admin = User.objects.get(email=ADMIN_EMAIL)
            services.access_request_approve(
                access_request=request, decided_by=admin, note="Demo approval"
            )


def _where_emails_go() -> str:
    backend = settings.EMAIL_BACKEND
    if backend == CONSOLE_EMAIL_BACKEND:
        return "printed in this terminal, by the server (EMAIL_BACKEND is the console)"
    if backend == "django.core.mail.backends.filebased.EmailBackend":
        return f"written to files in {settings.EMAIL_FILE_PATH}"
    if backend == "django.core.mail.backends.smtp.EmailBackend":
        return f"sent through {settings.EMAIL_HOST}:{settings.EMAIL_PORT} (SMTP)"
    return f"handed to {backend}"


def _site_follow_base_url() -> None:
    # allauth's mails name the site and link to its domain, which migrate set from
    # the BASE_URL of its day; a local server on another port moves BASE_URL.
    domain = urlsplit(settings.BASE_URL).netloc
    Site.objects.filter(pk=settings.SITE_ID).exclude(domain=domain).update(
        domain=domain
    )
    Site.objects.clear_cache()
