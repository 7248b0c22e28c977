"""Background tasks: emails leave the request, failures are retried and logged."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import AccessRequest
from core.models import TaskWorker
from core.tasks import retried_task, task_worker_seen, tasks_requeue_abandoned

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

    call_command("task_worker", "--batch", "--no-startup-delay")

    assert [m for m in mailoutbox if m.to == [pending_user.email]]
    assert queued.get().status == "SUCCESSFUL"


@pytest.mark.django_db(transaction=True)
def test_with_the_database_backend_a_failure_is_kept_and_retried_later(
    database_tasks, settings
):
    settings.TASK_RETRY_BACKOFF_SECONDS = 60
    flaky.enqueue(1)

    call_command("task_worker", "--batch", "--no-startup-delay")

    failed = DBTaskResult.objects.get(status="FAILED")
    retry = DBTaskResult.objects.get(status="READY")
    assert "SMTP server went away" in failed.traceback
    assert retry.run_after > timezone.now() + timedelta(seconds=30)
    assert retry.args_kwargs["kwargs"] == {"attempt": 2}


def _running(worker_id: str, *, started_seconds_ago: float) -> DBTaskResult:
    result = DBTaskResult.objects.get(pk=flaky.enqueue(0).id)
    result.claim(worker_id)
    started_at = timezone.now() - timedelta(seconds=started_seconds_ago)
    DBTaskResult.objects.filter(pk=result.pk).update(started_at=started_at)
    return result


@pytest.mark.django_db
def test_a_task_left_running_by_a_worker_gone_quiet_is_queued_again(
    database_tasks, settings
):
    settings.TASK_WORKER_STALE_SECONDS = 60
    TaskWorker.objects.create(
        worker_id="killed", seen_at=timezone.now() - timedelta(seconds=61)
    )
    abandoned = _running("killed", started_seconds_ago=120)

    requeued = tasks_requeue_abandoned()

    abandoned.refresh_from_db()
    assert requeued == 1
    assert abandoned.status == "READY"
    assert abandoned.worker_ids == ["killed"]  # who ran it stays on record
    assert not TaskWorker.objects.filter(worker_id="killed").exists()


@pytest.mark.django_db
def test_a_long_task_of_a_live_worker_is_left_running(database_tasks, settings):
    settings.TASK_WORKER_STALE_SECONDS = 60
    task_worker_seen(worker_id="busy")
    long_running = _running("busy", started_seconds_ago=3600)

    requeued = tasks_requeue_abandoned()

    long_running.refresh_from_db()
    assert requeued == 0
    assert long_running.status == "RUNNING"


@pytest.mark.django_db
def test_a_task_claimed_just_now_by_a_worker_not_yet_seen_is_left_running(
    database_tasks, settings
):
    settings.TASK_WORKER_STALE_SECONDS = 60
    just_claimed = _running("starting", started_seconds_ago=1)

    tasks_requeue_abandoned()

    just_claimed.refresh_from_db()
    assert just_claimed.status == "RUNNING"
