"""Two-factor sign-in on the web pages: the Django admin's login goes through
allauth's login stages (allauth.mfa asks for the second factor there), code tries
are throttled and audited, and MFA_REQUIRED_FOR_ADMINS sends an admin without a
second factor to enrol before any other /admin/ page."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, cast

from allauth.account.app_settings import EmailVerificationMethod
from allauth.account.internal.flows.login import (
    get_authentication_records,
    perform_password_login,
)
from allauth.account.models import Login
from allauth.core import context
from allauth.mfa.adapter import get_adapter
from allauth.mfa.base.forms import AuthenticateForm
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from allauth.mfa.webauthn.forms import (
    AddWebAuthnForm,
    AuthenticateWebAuthnForm,
    ReauthenticateWebAuthnForm,
)
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts import services
from core.throttling import FixedWindowThrottle

SECOND_FACTORS = [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
ENROL_FIRST = (
    "Administrators sign in with two factors: set up an authenticator app to "
    "open the admin."
)
# An admin who must enrol may still leave, or sign in again as someone else.
_OPEN_ADMIN_PATHS = frozenset({"/admin/login/", "/admin/logout/"})


class AdminLoginView(LoginView):
    """The admin's own login form; a right password is handed to allauth's login
    stages, as allauth's login form does, instead of signing in straight away."""

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        login = Login(
            user=user,
            email=user.email,
            redirect_url=self.get_success_url(),
            # An admin signing in here is not mailed a confirmation link.
            email_verification=EmailVerificationMethod.NONE,
        )
        return perform_password_login(self.request, {"email": user.email}, login)


@never_cache
def admin_login(request: HttpRequest) -> HttpResponse:
    # django.contrib.admin.sites.AdminSite.login, with AdminLoginView.
    site = admin.site
    if request.method == "GET" and site.has_permission(request):
        return redirect("admin:index")
    extra_context: dict[str, Any] = {
        **site.each_context(request),
        "title": _("Log in"),
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
    }
    if (
        REDIRECT_FIELD_NAME not in request.GET
        and REDIRECT_FIELD_NAME not in request.POST
    ):
        extra_context[REDIRECT_FIELD_NAME] = reverse("admin:index")
    request.current_app = site.name
    view = AdminLoginView.as_view(
        extra_context=extra_context,
        authentication_form=site.login_form or AdminAuthenticationForm,
        template_name=site.login_template or "admin/login.html",
    )
    # A page or a redirect; the stubs type as_view()'s answer as the base class.
    return cast(HttpResponse, view(request))


class _SecondFactorThrottle(FixedWindowThrottle):
    """A user's code tries on the same counter as POST /api/v1/auth/mfa/verify/."""

    scope = "mfa_verify"

    def __init__(self, user: Any) -> None:
        self.user = user

    def ident(self, request: HttpRequest) -> str | None:
        return f"user:{self.user.pk}"


def _refuse_when_throttled(user: Any) -> None:
    throttle = _SecondFactorThrottle(user)
    if not throttle.allow_request(context.request, None):
        seconds = math.ceil(throttle.wait())
        raise ValidationError(
            f"Too many codes tried. Try again in {seconds} seconds.",
            code="throttled",
        )


def _audit_failed_second_factor(user: Any) -> None:
    services.sign_in_failed(
        method="mfa", reason="invalid_code", email=user.email, user=user
    )


# fido2 parses a malformed WebAuthn answer into these (a missing key is a KeyError),
# which allauth lets through as a 500; each is a wrong answer like any other.
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError)


class SecondFactorForm(AuthenticateForm):
    """allauth's code form at sign-in (MFA_FORMS), throttled and audited."""

    def clean_code(self) -> str:
        _refuse_when_throttled(self.user)
        try:
            return super().clean_code()
        except ValidationError as exc:
            if exc.code == "incorrect_code":
                _audit_failed_second_factor(self.user)
            raise


class SecondFactorPasskeyForm(AuthenticateWebAuthnForm):
    """allauth's passkey form at sign-in, on the same counter and audit as codes."""

    def clean_credential(self) -> Authenticator:
        _refuse_when_throttled(self.user)
        try:
            return super().clean_credential()
        except ValidationError:
            _audit_failed_second_factor(self.user)
            raise
        except _MALFORMED as exc:
            _audit_failed_second_factor(self.user)
            raise get_adapter().validation_error("incorrect_code") from exc


class AddPasskeyForm(AddWebAuthnForm):
    """allauth's add-a-passkey form; a malformed answer is refused, not a 500."""

    def clean(self) -> dict:
        try:
            return super().clean()
        except _MALFORMED as exc:
            raise get_adapter().validation_error("incorrect_code") from exc


class ReauthenticatePasskeyForm(ReauthenticateWebAuthnForm):
    """allauth's passkey re-authentication; a malformed answer is a wrong one."""

    def clean_credential(self) -> Authenticator:
        try:
            return super().clean_credential()
        except _MALFORMED as exc:
            raise get_adapter().validation_error("incorrect_code") from exc


def web_sign_in_method(request: HttpRequest, user: Any) -> str:
    """The factors of this session's sign-in as the API names them: "password",
    "password+mfa", "google+mfa"..."""
    names = [
        record.get("provider", "social")
        if record.get("method") == "socialaccount"
        else str(record.get("method"))
        for record in get_authentication_records(request, user)
        if not record.get("reauthenticated")
    ]
    return "+".join(dict.fromkeys(names)) or "web"


class AdminMfaEnrolmentMiddleware:
    """With MFA_REQUIRED_FOR_ADMINS, sends a signed-in admin without a second factor
    from every /admin/ page (but login and logout) to allauth's TOTP activation."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.MFA_REQUIRED_FOR_ADMINS and _must_enrol(request):
            messages.warning(request, ENROL_FIRST)
            return redirect("mfa_activate_totp")
        return self.get_response(request)


def _must_enrol(request: HttpRequest) -> bool:
    path = request.path_info
    if not path.startswith("/admin/") or path in _OPEN_ADMIN_PATHS:
        return False
    user = request.user
    return bool(
        user.is_authenticated
        and user.is_staff
        and not is_mfa_enabled(user, SECOND_FACTORS)
    )


def authenticator_change_audit(
    *, action: str, user: Any, authenticator: Authenticator, **_: Any
) -> None:
    # allauth's pages announce authenticator changes only through its signals
    # (allauth.mfa.signals); the API's services audit their own.
    if authenticator.type in SECOND_FACTORS:
        services.mfa_change_audited(
            user=user, action=action, authenticator_type=authenticator.type
        )
