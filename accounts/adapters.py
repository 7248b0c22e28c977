"""allauth hooks; each delegates to accounts.services."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress, EmailConfirmation
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts import services
from accounts.web_mfa import web_sign_in_method
from core.audit import Action
from core.client_ip import client_ip
from core.errors import is_api


class AccountAdapter(DefaultAccountAdapter):
    def add_message(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        # JSON answers carry no flash messages (and /api/ has no message storage:
        # core/browser_middleware.py), as allauth's own headless requests.
        if is_api(request):
            return
        super().add_message(request, *args, **kwargs)

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Sign-up goes through POST /api/v1/auth/register/, where approval applies.
        return False

    def pre_login(
        self, request: HttpRequest, user: Any, **kwargs: Any
    ) -> HttpResponse | None:
        if not user.is_approved:
            messages.error(request, "This account may not sign in yet.")
            return redirect("account_login")
        return super().pre_login(request, user, **kwargs)

    def login(self, request: HttpRequest, user: Any) -> None:
        # Every web sign-in ends here, after allauth's stages (the second factor).
        super().login(request, user)
        services.sign_in_succeeded_on_web(
            user=user, method=web_sign_in_method(request, user)
        )

    def confirm_email(self, request: HttpRequest, email_address: EmailAddress) -> bool:
        confirmed = super().confirm_email(request, email_address)
        if confirmed:
            services.user_make_first_admin_if_listed(user=email_address.user)
        return confirmed

    def get_email_confirmation_url(
        self, request: HttpRequest, emailconfirmation: EmailConfirmation
    ) -> str:
        if settings.EMAIL_CONFIRM_URL:
            return settings.EMAIL_CONFIRM_URL.format(key=emailconfirmation.key)
        return super().get_email_confirmation_url(request, emailconfirmation)

    def set_password(self, user: Any, password: str) -> None:
        # allauth's reset-from-key and change pages both land here; User.save()
        # then ends the user's sessions and audits the change.
        match = getattr(self.request, "resolver_match", None)
        reset = getattr(match, "url_name", "") == "account_reset_password_from_key"
        user.set_password(
            password,
            actor=user,
            via="web",
            action=Action.PASSWORD_RESET if reset else Action.PASSWORD_CHANGED,
        )
        user.save()

    def get_reset_password_from_key_url(self, key: str) -> str:
        if settings.PASSWORD_RESET_URL:
            uid, _, token = key.partition("-")
            return settings.PASSWORD_RESET_URL.format(uid=uid, token=token)
        return super().get_reset_password_from_key_url(key)

    def get_client_ip(self, request: HttpRequest) -> str:
        # allauth's rate limits key on this: the same hops as the API's throttles.
        return client_ip(request)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        # The web Google flow is for admins reaching /admin/; frontends use the API.
        return False
