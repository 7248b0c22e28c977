from __future__ import annotations

from http import HTTPStatus
from typing import Any

from allauth.account.forms import default_token_generator
from allauth.account.utils import url_str_to_user_pk
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, viewsets
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import mfa, services, sessions, tasks
from accounts import serializers as s
from accounts.errors import AuthenticationFailed, InvalidCredentials, InvalidInput
from accounts.google import google_id_token_verify, user_sign_in_with_google
from accounts.invitations import invited_user
from accounts.models import AuthSession, User
from accounts.permissions import signed_in_user
from accounts.refresh_cookie import (
    REFRESH_COOKIE_NAME,
    refresh_cookie_clear,
    refresh_cookie_read,
    token_response,
)
from core.schema import (
    FILE_TOO_LARGE,
    INVALID,
    NOT_AUTHENTICATED,
    NOT_FOUND,
    SIGN_IN_REFUSED,
    STORAGE_FAILED,
    THROTTLED,
    UNSUPPORTED_FILE_TYPE,
    error,
)
from core.throttling import (
    FixedWindowThrottle,
    SignInAccountThrottle,
    SignInIPThrottle,
)


class EmailResendAddressThrottle(SignInAccountThrottle):
    """Confirmation mails per address, as slow as reset mails."""

    scope = "email_resend_address"


class LoginCodeAddressThrottle(SignInAccountThrottle):
    """Code mails per address, slower than sign-ins, so no one can flood a mailbox."""

    scope = "login_code_address"


class MfaVerifyThrottle(FixedWindowThrottle):
    """Second-factor tries per user (by the token's user), so guessing a code is slow."""

    scope = "mfa_verify"

    def ident(self, request: HttpRequest) -> str | None:
        data: Any = request.data if isinstance(request, Request) else None
        token = data.get("mfa_token") if hasattr(data, "get") else None
        user_pk = mfa.mfa_token_user_pk(token)
        return f"user:{user_pk}" if user_pk else None


class MfaUserThrottle(FixedWindowThrottle):
    """A signed-in user's removal tries, on the same counter as verify's."""

    scope = "mfa_verify"

    def ident(self, request: HttpRequest) -> str | None:
        user = getattr(request, "user", None)
        return f"user:{user.pk}" if user and user.is_authenticated else None


class MfaTotpConfirmThrottle(MfaUserThrottle):
    """A signed-in user's enrolment tries, so the pending secret cannot be guessed."""

    scope = "mfa_totp_confirm"


class PasswordResetAddressThrottle(SignInAccountThrottle):
    """Reset mails per address: slower than sign-ins, so no one can flood a mailbox."""

    scope = "password_reset_address"  # noqa: S105 (a throttle scope)


NO_CONTENT = OpenApiResponse(description="No content")
ACCEPTED_DETAIL = "If the address can receive mail, a message is on its way."

REFRESH_COOKIE_PARAMETERS = [
    OpenApiParameter(
        REFRESH_COOKIE_NAME,
        str,
        OpenApiParameter.COOKIE,
        description="With JWT_REFRESH_COOKIE on: the refresh token, read when the "
        "body has none; then `X-Requested-With` or `X-CSRFToken` must be sent too.",
    ),
    OpenApiParameter(
        "X-Requested-With",
        str,
        OpenApiParameter.HEADER,
        description="Any non-empty value: lets the refresh cookie be used.",
    ),
]
SETS_REFRESH_COOKIE = OpenApiParameter(
    "Set-Cookie",
    str,
    OpenApiParameter.HEADER,
    response=[200],
    description=f"With JWT_REFRESH_COOKIE on: `{REFRESH_COOKIE_NAME}=<refresh token>; "
    "HttpOnly; Secure; SameSite=Lax; Path=/api/v1/auth/` (the path carries "
    "URL_PREFIX; Secure outside DEBUG); the body then has no `refresh`.",
)
CLEARS_REFRESH_COOKIE = OpenApiParameter(
    "Set-Cookie",
    str,
    OpenApiParameter.HEADER,
    response=[204],
    description=f"With JWT_REFRESH_COOKIE on: `{REFRESH_COOKIE_NAME}=; Max-Age=0` "
    "clears the refresh cookie.",
)
MFA_REQUIRED_DETAIL = "Enter a code from your authenticator app or a recovery code."


def mfa_required(description: str) -> OpenApiResponse:
    return OpenApiResponse(
        s.MfaRequiredSerializer,
        description=f"{description}; or `mfa_required` with an `mfa_token`: the "
        "user has two-factor sign-in, finish with POST /api/v1/auth/mfa/verify/.",
    )


CSRF_FAILED = error(
    "`csrf_failed`: the refresh token came from the cookie without an "
    "`X-Requested-With` header or a valid `X-CSRFToken`."
)


class AnonymousView(APIView):
    """An endpoint for callers without a bearer token (any sent is not read)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


class PublicAuthView(AnonymousView):
    """Sign-in endpoints: no bearer token needed, throttled per IP and per account."""

    throttle_classes = [SignInIPThrottle, SignInAccountThrottle]

    def check_throttles(self, request: Request) -> None:
        # DRF asks every throttle even after one refused, and the per-account one
        # parses the body: a refused caller's body is never read.
        for throttle in self.get_throttles():
            if not throttle.allow_request(request, self):
                # DRF takes None (no Retry-After); the stubs want a float.
                self.throttled(request, throttle.wait())  # type: ignore[arg-type]

    def validated(self, serializer_class: type, request: Request) -> dict:
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class RegisterView(PublicAuthView):
    @extend_schema(
        request=s.RegisterSerializer,
        responses={
            201: s.RegisterResponseSerializer,
            400: error("`invalid` (weak password, bad email) or `email_taken`."),
            403: error("`permission_denied`: sign-up is closed."),
            429: THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.validated(s.RegisterSerializer, request)
        user = services.user_register(request=request._request, **data)
        detail = (
            "Account created. Confirm your email; an administrator will review your request."
            if user.status == User.Status.PENDING
            else "Account created. Confirm your email, then sign in."
        )
        return Response(
            {"user": s.user_to_json(user), "detail": detail}, status=HTTPStatus.CREATED
        )


class LoginView(PublicAuthView):
    @extend_schema(
        request=s.LoginSerializer,
        parameters=[SETS_REFRESH_COOKIE],
        responses={
            200: s.SignInResponseSerializer,
            400: INVALID,
            401: mfa_required("`invalid_credentials`"),
            403: SIGN_IN_REFUSED,
            429: THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.validated(s.LoginSerializer, request)
        user = services.user_authenticate(
            email=data["email"], password=data["password"]
        )
        if user is None:
            raise InvalidCredentials()
        return _signed_in(user, request, method="password")


class GoogleSignInView(PublicAuthView):
    @extend_schema(
        request=s.GoogleSignInSerializer,
        parameters=[SETS_REFRESH_COOKIE],
        responses={
            200: s.SignInResponseSerializer,
            400: INVALID,
            401: mfa_required(
                "`authentication_failed`: bad signature, wrong audience or issuer, "
                "expired, or unverified email"
            ),
            403: SIGN_IN_REFUSED,
            429: THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.validated(s.GoogleSignInSerializer, request)
        try:
            claims = google_id_token_verify(token=data["id_token"])
        except AuthenticationFailed as exc:
            services.sign_in_failed(method="google", reason=exc.code)
            raise
        user = user_sign_in_with_google(claims=claims)
        return _signed_in(user, request, method="google")


class LoginCodeRequestView(PublicAuthView):
    throttle_classes = [*PublicAuthView.throttle_classes, LoginCodeAddressThrottle]

    @extend_schema(
        request=s.LoginCodeRequestSerializer,
        responses={202: s.DetailSerializer, 400: INVALID, 429: THROTTLED},
    )
    def post(self, request: Request) -> Response:
        data = self.validated(s.LoginCodeRequestSerializer, request)
        # In the background: the answer takes as long whether or not the email exists.
        tasks.email_login_code.enqueue(data["email"])
        return Response({"detail": ACCEPTED_DETAIL}, status=HTTPStatus.ACCEPTED)


class LoginCodeConfirmView(PublicAuthView):
    @extend_schema(
        request=s.LoginCodeConfirmSerializer,
        parameters=[SETS_REFRESH_COOKIE],
        responses={
            200: s.SignInResponseSerializer,
            400: error(
                "`invalid_code`: wrong, used, expired, or replaced by a newer one "
                "(3 wrong tries use a code up); `invalid` for a malformed body."
            ),
            401: mfa_required("Never another code"),
            403: SIGN_IN_REFUSED,
            429: THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.validated(s.LoginCodeConfirmSerializer, request)
        user = services.user_proven_by_code(email=data["email"], code=data["code"])
        return _signed_in(user, request, method="code")


def _signed_in(user: User, request: Request, *, method: str) -> Response:
    if mfa.user_has_mfa(user):
        services.user_sign_in_allowed(user=user, method=method)
        body = {
            "detail": MFA_REQUIRED_DETAIL,
            "code": "mfa_required",
            "mfa_token": mfa.mfa_token_issue(user=user, method=method),
        }
        return Response(body, status=HTTPStatus.UNAUTHORIZED)
    return _tokens_for(user, request, method=method)


def _tokens_for(user: User, request: Request, *, method: str) -> Response:
    tokens = services.user_sign_in(user=user, request=request._request, method=method)
    user = User.objects.with_email_verified().get(pk=user.pk)
    return token_response(tokens, user=s.user_to_json(user))


class MfaVerifyView(PublicAuthView):
    throttle_classes = [SignInIPThrottle, MfaVerifyThrottle]

    @extend_schema(
        request=s.MfaVerifySerializer,
        parameters=[SETS_REFRESH_COOKIE],
        responses={
            200: s.SignInResponseSerializer,
            400: error(
                "`invalid_code`: a wrong TOTP or recovery code, or an unknown, "
                "expired or used `mfa_token`; `invalid` for a malformed body."
            ),
            403: SIGN_IN_REFUSED,
            429: THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.validated(s.MfaVerifySerializer, request)
        user, method = mfa.mfa_verify(token=data["mfa_token"], code=data["code"])
        return _tokens_for(user, request, method=f"{method}+mfa")


def _refresh_token_of(request: Request) -> str:
    serializer = s.RefreshSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    raw = serializer.validated_data.get("refresh") or refresh_cookie_read(request)
    if not raw:
        raise InvalidInput("refresh", ["This field is required."])
    return raw


class RefreshView(AnonymousView):
    @extend_schema(
        request=s.RefreshSerializer,
        parameters=[*REFRESH_COOKIE_PARAMETERS, SETS_REFRESH_COOKIE],
        responses={
            200: s.TokenPairSerializer,
            400: INVALID,
            401: error(
                "`token_not_valid`: expired, revoked, already rotated, or its user "
                "is no longer approved."
            ),
            403: CSRF_FAILED,
        },
    )
    def post(self, request: Request) -> Response:
        raw = _refresh_token_of(request)
        return token_response(sessions.session_refresh(raw_refresh=raw))


class LogoutView(AnonymousView):
    @extend_schema(
        request=s.RefreshSerializer,
        parameters=[*REFRESH_COOKIE_PARAMETERS, CLEARS_REFRESH_COOKIE],
        responses={
            204: NO_CONTENT,
            400: INVALID,
            401: error("`token_not_valid`: the refresh token is not valid."),
            403: CSRF_FAILED,
        },
    )
    def post(self, request: Request) -> Response:
        sessions.session_logout(raw_refresh=_refresh_token_of(request))
        return Response(status=HTTPStatus.NO_CONTENT)

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        # A cookie whose session is gone goes too; a refused cross-site call (403)
        # changes nothing.
        if response.status_code in {HTTPStatus.NO_CONTENT, HTTPStatus.UNAUTHORIZED}:
            refresh_cookie_clear(response)
        return super().finalize_response(request, response, *args, **kwargs)


class LogoutAllView(APIView):
    @extend_schema(
        request=None,
        parameters=[CLEARS_REFRESH_COOKIE],
        responses={204: NO_CONTENT, 401: NOT_AUTHENTICATED},
    )
    def post(self, request: Request) -> Response:
        sessions.user_logout_all(user=signed_in_user(request))
        response = Response(status=HTTPStatus.NO_CONTENT)
        refresh_cookie_clear(response)
        return response


@extend_schema_view(
    list=extend_schema(
        responses={200: s.SessionSerializer(many=True), 401: NOT_AUTHENTICATED}
    ),
    destroy=extend_schema(
        responses={204: NO_CONTENT, 401: NOT_AUTHENTICATED, 404: NOT_FOUND}
    ),
)
class SessionViewSet(
    mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    serializer_class = s.SessionSerializer
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self):
        return AuthSession.objects.live().filter(user=self.request.user)

    def get_serializer_context(self) -> dict:
        context = dict(super().get_serializer_context())
        context["current_session_id"] = (
            str(self.request.auth.get("sid"))  # type: ignore[union-attr]
            if self.request.auth
            else None
        )
        return context

    def perform_destroy(self, instance: AuthSession) -> None:
        sessions.session_end(session=instance, reason="ended_by_user")


class MeView(APIView):
    reads_user_access = True  # GET answers the user's groups and permissions

    @extend_schema(responses={200: s.MeSerializer, 401: NOT_AUTHENTICATED})
    def get(self, request: Request) -> Response:
        return Response(s.me_to_json(signed_in_user(request), request=request))

    @extend_schema(
        request=s.ProfileSerializer,
        responses={200: s.UserSerializer, 400: INVALID, 401: NOT_AUTHENTICATED},
    )
    def patch(self, request: Request) -> Response:
        serializer = s.ProfileSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.user_update_profile(
            user=signed_in_user(request), **serializer.validated_data
        )
        return Response(s.user_to_json(user, request=request))

    @extend_schema(
        request=s.AccountDeleteSerializer,
        responses={
            204: NO_CONTENT,
            400: error(
                "`invalid` (a wrong password); `last_admin` for the last active admin."
            ),
            401: NOT_AUTHENTICATED,
        },
    )
    def delete(self, request: Request) -> Response:
        serializer = s.AccountDeleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_delete(
            user=signed_in_user(request),
            password=serializer.validated_data.get("password"),
        )
        return Response(status=HTTPStatus.NO_CONTENT)


class AvatarView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": s.AvatarUploadSerializer},
        responses={
            200: s.UserSerializer,
            400: INVALID,
            401: NOT_AUTHENTICATED,
            413: FILE_TOO_LARGE,
            415: UNSUPPORTED_FILE_TYPE,
            **STORAGE_FAILED,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = s.AvatarUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_set_avatar(
            user=signed_in_user(request),
            upload=serializer.validated_data["file"],
        )
        return Response(s.user_to_json(user, request=request))


class RequestAccessView(PublicAuthView):
    @extend_schema(
        request=s.RequestAccessSerializer,
        responses={
            202: s.DetailSerializer,
            400: INVALID,
            403: error("`permission_denied`: sign-up is closed."),
            429: THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.validated(s.RequestAccessSerializer, request)
        services.user_request_access(**data)
        return Response(
            {
                "detail": "Thanks. If this address can be given access, an administrator will review it."
            },
            status=HTTPStatus.ACCEPTED,
        )


class PasswordChangeView(APIView):
    @extend_schema(
        request=s.PasswordChangeSerializer,
        responses={204: NO_CONTENT, 400: INVALID, 401: NOT_AUTHENTICATED},
    )
    def post(self, request: Request) -> Response:
        serializer = s.PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_change_password(
            user=signed_in_user(request),
            old_password=serializer.validated_data["old_password"],
            new_password=serializer.validated_data["new_password"],
            keep_session_id=request.auth.get("sid"),  # type: ignore[union-attr]
        )
        return Response(status=HTTPStatus.NO_CONTENT)


class PasswordResetView(PublicAuthView):
    throttle_classes = [*PublicAuthView.throttle_classes, PasswordResetAddressThrottle]

    @extend_schema(
        request=s.PasswordResetSerializer,
        responses={202: s.DetailSerializer, 400: INVALID, 429: THROTTLED},
    )
    def post(self, request: Request) -> Response:
        data = self.validated(s.PasswordResetSerializer, request)
        # In the background: the answer takes as long whether or not the email exists.
        tasks.email_password_reset.enqueue(data["email"])
        return Response({"detail": ACCEPTED_DETAIL}, status=HTTPStatus.ACCEPTED)


class PasswordResetConfirmView(AnonymousView):
    @extend_schema(
        request=s.PasswordResetConfirmSerializer,
        responses={
            204: NO_CONTENT,
            400: error(
                "`invalid`: a weak password, or the link is invalid or expired."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = s.PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            user = User.objects.get(pk=url_str_to_user_pk(data["uid"]))
        except (User.DoesNotExist, ValidationError, ValueError, TypeError):
            user = None
        if user is None or not default_token_generator.check_token(user, data["token"]):
            raise InvalidInput("token", ["The reset link is invalid or has expired."])
        services.user_reset_password(user=user, new_password=data["new_password"])
        return Response(status=HTTPStatus.NO_CONTENT)


class InvitationAcceptView(AnonymousView):
    @extend_schema(
        request=s.InvitationAcceptSerializer,
        responses={
            204: NO_CONTENT,
            400: error(
                "`invalid`: a weak password, or the link is malformed, used or expired."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = s.InvitationAcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.invitation_accept(**serializer.validated_data)
        return Response(status=HTTPStatus.NO_CONTENT)


class InvitationAcceptPage(View):
    """The server's invitation page, for when INVITATION_URL names no frontend."""

    template_name = "account/invitation_accept.html"

    def get(self, request: HttpRequest, uid: str, token: str) -> HttpResponse:
        valid = invited_user(uid=uid, token=token) is not None
        # No user until the link is checked; the service validates with it.
        form = SetPasswordForm(None)  # type: ignore[type-var]
        return self._page(request, form=form, valid=valid)

    def post(self, request: HttpRequest, uid: str, token: str) -> HttpResponse:
        # The user is known once the link is checked; the service validates with it.
        form = SetPasswordForm(None, request.POST)  # type: ignore[type-var]
        if not form.is_valid():
            return self._page(request, form=form, valid=True)
        try:
            services.invitation_accept(
                uid=uid,
                token=token,
                new_password=form.cleaned_data["new_password1"],
                via="web",
            )
        except InvalidInput as exc:
            if "token" in (exc.errors or {}):
                return self._page(request, form=form, valid=False)
            for message in (exc.errors or {}).get("new_password", []):
                form.add_error("new_password1", message)
            return self._page(request, form=form, valid=True)
        return self._page(request, form=None, valid=True, done=True)

    def _page(self, request: HttpRequest, **context: object) -> HttpResponse:
        status = HTTPStatus.OK if context["valid"] else HTTPStatus.BAD_REQUEST
        return render(request, self.template_name, context, status=status)


class EmailConfirmView(AnonymousView):
    throttle_classes = [SignInIPThrottle]

    @extend_schema(
        request=s.EmailConfirmSerializer,
        responses={
            204: NO_CONTENT,
            400: error("`invalid`: the key is unknown, used or expired."),
            429: THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = s.EmailConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.email_address_confirm(
            key=serializer.validated_data["key"], request=request._request
        )
        return Response(status=HTTPStatus.NO_CONTENT)


class EmailResendView(PublicAuthView):
    throttle_classes = [*PublicAuthView.throttle_classes, EmailResendAddressThrottle]

    @extend_schema(
        request=s.EmailResendSerializer,
        responses={202: s.DetailSerializer, 400: INVALID, 429: THROTTLED},
    )
    def post(self, request: Request) -> Response:
        data = self.validated(s.EmailResendSerializer, request)
        # In the background, like resets: the answer never tells what is known.
        tasks.email_confirmation_resend.enqueue(data["email"])
        return Response({"detail": ACCEPTED_DETAIL}, status=HTTPStatus.ACCEPTED)


def _authenticator_json(authenticator: Any) -> dict[str, Any]:
    body = {
        "type": authenticator.type,
        "created_at": authenticator.created_at,
        "last_used_at": authenticator.last_used_at,
    }
    if authenticator.type == "recovery_codes":
        body["unused_codes"] = len(authenticator.wrap().get_unused_codes())
    return body


class MfaView(APIView):
    @extend_schema(
        responses={200: s.AuthenticatorSerializer(many=True), 401: NOT_AUTHENTICATED}
    )
    def get(self, request: Request) -> Response:
        authenticators = mfa.authenticators_of(signed_in_user(request))
        return Response([_authenticator_json(a) for a in authenticators])


class TotpView(APIView):
    def get_throttles(self) -> list:
        return [MfaUserThrottle()] if self.request.method == "DELETE" else []

    @extend_schema(
        request=None,
        responses={
            200: s.TotpStartSerializer,
            401: NOT_AUTHENTICATED,
            409: error("`mfa_already_enabled`: remove the TOTP authenticator first."),
        },
    )
    def post(self, request: Request) -> Response:
        return Response(mfa.totp_start(user=signed_in_user(request)))

    @extend_schema(
        request=s.MfaCodeSerializer,
        responses={
            204: NO_CONTENT,
            400: error("`invalid_code`: not a current code; `invalid` for a bad body."),
            401: NOT_AUTHENTICATED,
            404: error("`not_found`: two-factor sign-in is not on."),
            429: THROTTLED,
        },
    )
    def delete(self, request: Request) -> Response:
        serializer = s.MfaCodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        code = serializer.validated_data["code"]
        mfa.totp_remove(user=signed_in_user(request), code=code)
        return Response(status=HTTPStatus.NO_CONTENT)


class TotpConfirmView(APIView):
    throttle_classes = [MfaTotpConfirmThrottle]

    @extend_schema(
        request=s.MfaCodeSerializer,
        responses={
            200: s.RecoveryCodesSerializer,
            400: error(
                "`invalid_code`: wrong, or no secret started in the last 10 minutes; "
                "`invalid` for a malformed body."
            ),
            401: NOT_AUTHENTICATED,
            409: error("`mfa_already_enabled`."),
            429: THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = s.MfaCodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        code = serializer.validated_data["code"]
        codes = mfa.totp_confirm(user=signed_in_user(request), code=code)
        return Response({"recovery_codes": codes})
