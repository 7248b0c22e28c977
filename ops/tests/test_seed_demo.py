"""seed_demo, which `make run` runs: the demo accounts, the server's address, the mail."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.sites.models import Site
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def _seed_demo() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_it_prints_the_three_demo_accounts():
    printed = _seed_demo()

    for email in ("admin@example.com", "user@example.com", "pending@example.com"):
        assert email in printed


def test_it_prints_where_the_server_answers(settings):
    settings.BASE_URL = "http://localhost:9000"

    assert "Server: http://localhost:9000/" in _seed_demo()


def test_it_says_the_console_backend_prints_emails_in_the_terminal(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

    assert "Emails: printed in this terminal" in _seed_demo()


def test_it_names_the_smtp_server_that_sends_emails_otherwise(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "smtp.example.com", 587

    printed = _seed_demo()

    assert "Emails: sent through smtp.example.com:587 (SMTP)" in printed
    assert "this terminal" not in printed


def test_it_moves_the_site_that_allauth_mails_name_to_base_urls_host(settings):
    settings.BASE_URL = "http://localhost:9000"

    _seed_demo()

    assert Site.objects.get(pk=settings.SITE_ID).domain == "localhost:9000"
