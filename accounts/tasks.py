"""Account emails, sent in the background (see core.tasks for retries).

The jobs' own rules live here too (which request is mailed alone, which waits for
the hour's digest), so this module needs nothing from accounts.services, which
enqueues these tasks.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from allauth.account.forms import ResetPasswordForm
from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import emails
from accounts.login_codes import login_code_send
from accounts.models import AccessRequest, User, normalize_email
from core.tasks import retried_task


@retried_task
def email_admins_about_request(access_request_id: str) -> None:
    access_request_announce(access_request_id=access_request_id)


@retried_task
def email_admins_digest(window_start: str) -> None:
    access_requests_digest_send(window_start=datetime.fromisoformat(window_start))


@retried_task
def email_user_about_decision(access_request_id: str) -> None:
    emails.access_decision_notify_user(AccessRequest.objects.get(pk=access_request_id))


@retried_task
def email_confirmation_resend(email: str) -> None:
    """Mails a new confirmation link to an address that is still unconfirmed."""
    address = (
        EmailAddress.objects.filter(email=normalize_email(email), verified=False)
        .select_related("user")
        .first()
    )
    if address is not None:
        address.send_confirmation(None)


@retried_task
def email_password_reset(email: str) -> None:
    """allauth's reset mail, to a known address only; links use BASE_URL's site."""
    form = ResetPasswordForm(data={"email": email})
    if form.is_valid():
        form.save(None)


@retried_task
def email_login_code(email: str) -> None:
    """A sign-in code, made here so that no plain code waits in the task queue."""
    login_code_send(email=email)


@retried_task
def email_invitation(user_id: str) -> None:
    """The invitation link is made when the mail is sent; its 7 days start then."""
    emails.invitation_send(User.objects.get(pk=user_id))


def _hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def access_request_announce(*, access_request_id: str) -> None:
    """Mails the admins about a new request once; past the hour's allowance, a digest."""
    access_request = AccessRequest.objects.select_related("user").get(
        pk=access_request_id
    )
    window_start = _hour_of(access_request.created_at)
    position = AccessRequest.objects.filter(
        created_at__gte=window_start, created_at__lte=access_request.created_at
    ).count()
    allowance = settings.ACCESS_REQUEST_EMAILS_PER_HOUR
    if position <= allowance:
        # Claimed and mailed in one transaction: a retry after a failed send
        # mails again, a second run after a sent one does not.
        with transaction.atomic():
            claimed = AccessRequest.objects.filter(
                pk=access_request.pk, admins_notified_at__isnull=True
            ).update(admins_notified_at=timezone.now())
            if claimed:
                emails.access_request_notify_admins(access_request)
        return
    digest = email_admins_digest
    if digest.get_backend().supports_defer:
        if position != allowance + 1:
            return  # the first request past the allowance scheduled the digest
        digest = digest.using(run_after=window_start + timedelta(hours=1))
    digest.enqueue(window_start.isoformat())


@transaction.atomic
def access_requests_digest_send(*, window_start: datetime) -> int:
    """Mails the admins one list of the hour's requests no mail has announced yet."""
    unannounced = AccessRequest.objects.filter(
        created_at__gte=window_start,
        created_at__lt=window_start + timedelta(hours=1),
        admins_notified_at__isnull=True,
    )
    claimed = list(
        unannounced.select_for_update(of=("self",))
        .select_related("user")
        .order_by("created_at")
    )
    AccessRequest.objects.filter(pk__in=[r.pk for r in claimed]).update(
        admins_notified_at=timezone.now()
    )
    still_pending = [r for r in claimed if r.status == AccessRequest.Status.PENDING]
    if still_pending:
        emails.access_requests_digest_notify_admins(still_pending)
    return len(still_pending)
