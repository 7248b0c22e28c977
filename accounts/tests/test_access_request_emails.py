"""Admins hear of each new access request once, and of a burst in one digest."""

import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts import tasks
from accounts.models import AccessRequest

URL = "/api/v1/auth/request-access/"


@pytest.fixture(autouse=True)
def _one_clock_hour():
    """The allowance counts per clock hour: never start a test in the hour's last 30 s."""
    now = timezone.now()
    seconds_left = 3600 - (now.minute * 60 + now.second + now.microsecond / 1e6)
    if seconds_left < 30:
        time.sleep(seconds_left + 0.5)


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _run_due_tasks() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay")


def _to(mailoutbox, email: str) -> list:
    return [m for m in mailoutbox if m.to == [email]]


@pytest.mark.django_db
def test_a_second_run_of_the_notification_mails_no_admin_again(
    pending_user, admin_user, mailoutbox
):
    request = AccessRequest.objects.get(user=pending_user)
    tasks.access_request_announce(access_request_id=str(request.pk))
    mailoutbox.clear()

    tasks.email_admins_about_request.enqueue(str(request.pk))

    assert _to(mailoutbox, admin_user.email) == []


@pytest.mark.django_db
def test_each_new_request_within_the_allowance_mails_each_admin_once(
    api_client,
    admin_user,
    user_factory,
    settings,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    settings.ACCESS_REQUEST_EMAILS_PER_HOUR = 3
    other_admin = user_factory(role="admin")

    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            api_client.post(URL, {"email": f"r{n}@example.com"}, format="json")
            api_client.post(URL, {"email": f"r{n}@example.com"}, format="json")

    for admin in (admin_user, other_admin):
        subjects = sorted(m.subject for m in _to(mailoutbox, admin.email))
        assert len(subjects) == 3
        assert all(f"r{n}@example.com" in subjects[n] for n in range(3))


# The worker closes its database connection when done, as in production.
@pytest.mark.django_db(transaction=True)
def test_requests_past_the_hourly_allowance_wait_for_one_digest_at_the_hours_end(
    database_tasks, api_client, admin_user, settings, mailoutbox
):
    settings.ACCESS_REQUEST_EMAILS_PER_HOUR = 2
    for n in range(5):
        api_client.post(URL, {"email": f"r{n}@example.com"}, format="json")

    _run_due_tasks()

    assert len(_to(mailoutbox, admin_user.email)) == 2
    digest = DBTaskResult.objects.get(task_path__endswith="email_admins_digest")
    first = AccessRequest.objects.order_by("created_at").first().created_at
    hour_end = first.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    assert (digest.status, digest.run_after) == ("READY", hour_end)


@pytest.mark.django_db(transaction=True)
def test_the_digest_lists_every_request_past_the_allowance_in_one_mail(
    database_tasks, api_client, admin_user, settings, mailoutbox
):
    settings.ACCESS_REQUEST_EMAILS_PER_HOUR = 2
    for n in range(5):
        api_client.post(URL, {"email": f"r{n}@example.com"}, format="json")
    _run_due_tasks()
    mailoutbox.clear()
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())

    _run_due_tasks()

    [digest] = _to(mailoutbox, admin_user.email)
    assert "3 more access requests" in digest.subject
    assert all(f"r{n}@example.com" in digest.body for n in (2, 3, 4))
    assert "r0@example.com" not in digest.body
    assert not AccessRequest.objects.filter(admins_notified_at__isnull=True).exists()
