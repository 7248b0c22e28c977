"""Account notification emails, rendered from templates/account/email/ by allauth."""

from __future__ import annotations

from allauth.account.adapter import get_adapter
from django.conf import settings
from django.urls import reverse

from accounts.invitations import INVITATION_LIFETIME, invitation_url
from accounts.models import AccessRequest, User


def _admin_url(path: str) -> str:
    return f"{settings.BASE_URL}{path}"


def access_request_notify_admins(access_request: AccessRequest) -> None:
    recipients = list(User.objects.active_admins().values_list("email", flat=True))
    context = {
        "access_request": access_request,
        "user": access_request.user,
        "review_url": _admin_url(
            reverse("admin:accounts_accessrequest_change", args=[access_request.pk])
        ),
    }
    adapter = get_adapter()
    for email in recipients:
        adapter.send_mail("account/email/access_request_new", email, context)


def access_requests_digest_notify_admins(requests: list[AccessRequest]) -> None:
    recipients = list(User.objects.active_admins().values_list("email", flat=True))
    changelist = reverse("admin:accounts_accessrequest_changelist")
    context = {
        "access_requests": requests,
        "review_url": _admin_url(f"{changelist}?status__exact=pending"),
    }
    adapter = get_adapter()
    for email in recipients:
        adapter.send_mail("account/email/access_request_digest", email, context)


def access_decision_notify_user(access_request: AccessRequest) -> None:
    user = access_request.user
    template = (
        "account/email/access_approved"
        if access_request.status == AccessRequest.Status.APPROVED
        else "account/email/access_rejected"
    )
    context = {
        "access_request": access_request,
        "user": user,
        "needs_password": not user.has_usable_password()
        and user.auth_provider == "password",
        "password_reset_url": _admin_url(reverse("account_reset_password")),
    }
    get_adapter().send_mail(template, user.email, context)


def invitation_send(user: User) -> None:
    context = {
        "user": user,
        "invitation_url": invitation_url(user),
        "valid_days": INVITATION_LIFETIME.days,
    }
    get_adapter().send_mail("account/email/invitation", user.email, context)
