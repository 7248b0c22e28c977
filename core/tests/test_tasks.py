"""Background tasks: emails leave the request, failures are retried and logged."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import AccessRequest
from core.tasks import retried_task

calls: list[int] = []


@retried_task
def flaky(fail_times: int) -> str:
    calls.append(1)
    if len(calls) <= fail_times:
        raise ConnectionError("SMTP server went away")
    return "sent"


@pytest.fixture(autouse=True)
def _reset_calls():
    calls.clear()


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_a_failing_task_is_retried_until_it_succeeds(settings, caplog):
    settings.TASK_MAX_ATTEMPTS = 5

    result = flaky.enqueue(2)

    assert len(calls) == 3
    assert result.status == "FAILED"  # the first attempt; its retries carried on
    failures = [r for r in caplog.records if "Task flaky failed" in r.getMessage()]
    assert len(failures) == 2
    assert all(r.exc_info for r in failures)


def test_a_task_gives_up_after_the_last_attempt_and_says_so(settings, caplog):
    settings.TASK_MAX_ATTEMPTS = 3

    flaky.enqueue(10)

    assert len(calls) == 3
    assert "attempt 3 of 3); giving up" in caplog.text


# The worker closes its database connection when done, as in production.
@pytest.mark.django_db(transaction=True)
def test_with_the_database_backend_emails_wait_for_the_worker(
    database_tasks,
    admin_user,
    pending_user,
    auth_client,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    request = AccessRequest.objects.get(user=pending_user)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        auth_client(admin_user).post(
            f"/api/v1/admin/access-requests/{request.pk}/approve/"
        )

    assert mailoutbox == []
    queued = DBTaskResult.objects.filter(
        task_path__endswith="email_user_about_decision"
    )
    assert queued.get().status == "READY"

    call_command("db_worker", "--batch", "--no-startup-delay")

    assert [m for m in mailoutbox if m.to == [pending_user.email]]
    assert queued.get().status == "SUCCESSFUL"


@pytest.mark.django_db(transaction=True)
def test_with_the_database_backend_a_failure_is_kept_and_retried_later(
    database_tasks, settings
):
    settings.TASK_RETRY_BACKOFF_SECONDS = 60
    flaky.enqueue(1)

    call_command("db_worker", "--batch", "--no-startup-delay")

    failed = DBTaskResult.objects.get(status="FAILED")
    retry = DBTaskResult.objects.get(status="READY")
    assert "SMTP server went away" in failed.traceback
    assert retry.run_after > timezone.now() + timedelta(seconds=30)
    assert retry.args_kwargs["kwargs"] == {"attempt": 2}
