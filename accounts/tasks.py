"""Account emails, sent in the background (see core.tasks for retries)."""

from __future__ import annotations

from datetime import datetime

from allauth.account.forms import ResetPasswordForm

from accounts import emails
from accounts.models import AccessRequest, User
from core.tasks import retried_task

# accounts.services enqueues these tasks, so it is imported where they run.


@retried_task
def email_admins_about_request(access_request_id: str) -> None:
    from accounts import services

    services.access_request_announce(access_request_id=access_request_id)


@retried_task
def email_admins_digest(window_start: str) -> None:
    from accounts import services

    services.access_requests_digest_send(
        window_start=datetime.fromisoformat(window_start)
    )


@retried_task
def email_user_about_decision(access_request_id: str) -> None:
    emails.access_decision_notify_user(AccessRequest.objects.get(pk=access_request_id))


@retried_task
def email_confirmation_resend(email: str) -> None:
    from accounts import services

    services.email_confirmation_resend(email=email)


@retried_task
def email_password_reset(email: str) -> None:
    """allauth's reset mail, to a known address only; links use BASE_URL's site."""
    form = ResetPasswordForm(data={"email": email})
    if form.is_valid():
        form.save(None)


@retried_task
def email_invitation(user_id: str) -> None:
    """The invitation link is made when the mail is sent; its 7 days start then."""
    emails.invitation_send(User.objects.get(pk=user_id))
