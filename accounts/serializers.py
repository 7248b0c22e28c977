from __future__ import annotations

from urllib.parse import urljoin

from django.conf import settings
from django.http import HttpRequest
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import AuthSession, User, verified_addresses
from accounts.selectors import group_names_of, permissions_of
from core.serializers import (
    ErrorSerializer,
    ModelSerializer,
    StrictCharField,
    datetime_json,
)


def email_verified_of(user: User) -> bool:
    if hasattr(user, "email_verified"):  # User.objects.with_email_verified()
        return user.email_verified
    return verified_addresses(user=user, email=user.email).exists()


def avatar_url_of(user: User, request: HttpRequest | None = None) -> str:
    """A fresh signed link to an uploaded avatar, else the URL the user or Google gave."""
    if not user.avatar_file:
        return user.avatar_url
    url = user.avatar_file.url  # signed locally: no query, no network call
    if request is not None:
        return request.build_absolute_uri(url)
    return urljoin(settings.BASE_URL, url)


class UserSerializer(serializers.ModelSerializer):
    email_verified = serializers.SerializerMethodField()
    avatar_url = serializers.SerializerMethodField()
    is_admin = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "email_verified",
            "full_name",
            "avatar_url",
            "role",
            "status",
            "is_admin",
            "auth_provider",
            "date_joined",
            "last_login",
        ]
        read_only_fields = [f for f in fields if f not in {"full_name", "avatar_url"}]

    def get_email_verified(self, user: User) -> bool:
        return email_verified_of(user)

    # An account without a picture has an empty string, not a URL.
    @extend_schema_field(
        {
            "anyOf": [
                {"type": "string", "format": "uri"},
                {"type": "string", "maxLength": 0},
            ]
        }
    )
    def get_avatar_url(self, user: User) -> str:
        return avatar_url_of(user, self.context.get("request"))


def user_to_json(user: User, *, request: HttpRequest | None = None) -> dict:
    """UserSerializer's JSON, built by hand (accounts/tests/test_user_json.py holds
    the rendered bytes equal): DRF's eleven fields cost a GET /me/ about 40 µs.
    Datetimes and the id stay as they are: the renderer writes them as DRF would."""
    moment = datetime_json()
    return {
        "id": user.pk,
        "email": user.email,
        "email_verified": email_verified_of(user),
        "full_name": user.full_name,
        "avatar_url": avatar_url_of(user, request),
        "role": str(user.role),
        "status": str(user.status),
        "is_admin": user.is_admin,
        "auth_provider": str(user.auth_provider),
        "date_joined": moment(user.date_joined),
        "last_login": moment(user.last_login) if user.last_login else None,
    }


class MeSerializer(UserSerializer):
    """The signed-in user, with what they may do (for GET /api/v1/auth/me/)."""

    groups = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The names of the user's groups.",
    )
    permissions = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text='Every "app_label.codename" the user holds, from their groups '
        "and their own; an admin holds each one there is.",
    )

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "groups", "permissions"]


def me_to_json(user: User, *, request: HttpRequest | None = None) -> dict:
    """User JSON with `groups` and `permissions`, read by the session's one query."""
    return {
        **user_to_json(user, request=request),
        "groups": group_names_of(user),
        "permissions": permissions_of(user),
    }


class UserSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name"]
        read_only_fields = fields


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = StrictCharField(write_only=True, trim_whitespace=False)
    full_name = StrictCharField(required=False, allow_blank=True, max_length=150)
    reason = StrictCharField(required=False, allow_blank=True, max_length=2000)


class RegisterResponseSerializer(serializers.Serializer):
    user = UserSerializer()
    detail = serializers.CharField()


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = StrictCharField(write_only=True, trim_whitespace=False)


class LoginCodeRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()


class LoginCodeConfirmSerializer(serializers.Serializer):
    email = serializers.EmailField()
    code = StrictCharField(write_only=True, max_length=64)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField(
        required=False,
        help_text="Absent when JWT_REFRESH_COOKIE is on: the refresh token is then "
        "in the `gatehouse_refresh` cookie.",
    )


class SignInResponseSerializer(TokenPairSerializer):
    user = UserSerializer()


class GoogleSignInSerializer(serializers.Serializer):
    id_token = StrictCharField()


class RefreshSerializer(serializers.Serializer):
    refresh = StrictCharField(
        required=False,
        help_text="Required unless JWT_REFRESH_COOKIE is on and the "
        "`gatehouse_refresh` cookie carries it.",
    )


class SessionSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField()

    class Meta:
        model = AuthSession
        fields = ["id", "user_agent", "ip", "created_at", "last_used_at", "current"]
        read_only_fields = fields

    def get_current(self, session: AuthSession) -> bool:
        return str(session.pk) == self.context.get("current_session_id")


class ProfileSerializer(ModelSerializer):
    class Meta:
        model = User
        fields = ["full_name", "avatar_url"]
        extra_kwargs = {
            "full_name": {"required": False},
            "avatar_url": {"required": False},
        }


class AccountDeleteSerializer(serializers.Serializer):
    password = StrictCharField(required=False, trim_whitespace=False)


class AvatarUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class RequestAccessSerializer(serializers.Serializer):
    email = serializers.EmailField()
    full_name = StrictCharField(required=False, allow_blank=True, max_length=150)
    reason = StrictCharField(required=False, allow_blank=True, max_length=2000)


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class PasswordChangeSerializer(serializers.Serializer):
    old_password = StrictCharField(trim_whitespace=False)
    new_password = StrictCharField(trim_whitespace=False)


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField()


class EmailConfirmSerializer(serializers.Serializer):
    key = StrictCharField(max_length=500)


class EmailResendSerializer(serializers.Serializer):
    email = serializers.EmailField()


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = StrictCharField()
    token = StrictCharField()
    new_password = StrictCharField(trim_whitespace=False)


class InvitationAcceptSerializer(serializers.Serializer):
    uid = StrictCharField()
    token = StrictCharField()
    new_password = StrictCharField(trim_whitespace=False)


class MfaCodeSerializer(serializers.Serializer):
    code = StrictCharField(write_only=True, max_length=64)


class MfaVerifySerializer(serializers.Serializer):
    mfa_token = StrictCharField(write_only=True, max_length=200)
    code = StrictCharField(write_only=True, max_length=64)


class TotpStartSerializer(serializers.Serializer):
    secret = serializers.CharField(
        help_text="Base32; valid for 10 minutes unconfirmed."
    )
    otpauth_uri = serializers.CharField(help_text="The `otpauth://totp/...` URI.")
    qr_svg = serializers.CharField(help_text="The URI as a QR code, an SVG document.")


class RecoveryCodesSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(
        child=serializers.CharField(), help_text="Ten one-use codes, shown only now."
    )


class AuthenticatorSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["totp", "recovery_codes", "webauthn"])
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    unused_codes = serializers.IntegerField(
        required=False, help_text="Recovery codes only: how many are left."
    )


class MfaRequiredSerializer(ErrorSerializer):
    """The shared error body; with `mfa_required` it adds the `mfa_token`."""

    mfa_token = serializers.CharField(
        required=False,
        help_text="With `mfa_required`: for POST /api/v1/auth/mfa/verify/ "
        "within 5 minutes, once.",
    )
