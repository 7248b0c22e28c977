"""Every error the accounts app raises: the HTTP contract's, each with its stable code."""

from __future__ import annotations

from rest_framework import status

from core.errors import ApiError, ServiceUnavailable


class InvalidCredentials(ApiError):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "invalid_credentials"
    default_detail = "The email or password is not correct."


class AuthenticationFailed(ApiError):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "authentication_failed"
    default_detail = "The sign-in could not be verified."


class TokenNotValid(ApiError):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "token_not_valid"
    default_detail = "The token is invalid, expired or revoked."


class InvalidCode(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_code"
    default_detail = "The code is wrong, used or expired; request a new one."

    def __init__(self) -> None:
        super().__init__(errors={"code": [str(self.default_detail)]})


class CsrfFailed(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "csrf_failed"
    default_detail = (
        "A refresh token from the cookie needs an X-Requested-With header "
        "or a valid X-CSRFToken."
    )


class ApprovalPending(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "approval_pending"
    default_detail = "Your account is waiting for an administrator's approval."


class AccessRejected(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "access_rejected"
    default_detail = "Your request for access was declined."


class AccountDisabled(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "account_disabled"
    default_detail = "This account has been disabled."


class SignupClosed(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "permission_denied"
    default_detail = "Sign-up is closed; ask an administrator for an account."


class EmailTaken(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "email_taken"
    default_detail = "An account with this email already exists."

    def __init__(self) -> None:
        super().__init__(errors={"email": [str(self.default_detail)]})


class InvalidInput(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"
    default_detail = "The request is not valid."

    def __init__(self, field: str, messages: list[str]) -> None:
        super().__init__(messages[0], errors={field: messages})


class GoogleUnavailable(ServiceUnavailable):
    default_detail = "Google's signing keys could not be fetched; try again shortly."


class LastAdminError(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "last_admin"
    default_detail = "The last active admin cannot be demoted, disabled or removed."

    def __init__(self) -> None:
        detail = str(self.default_detail)
        super().__init__(detail, errors={"non_field_errors": [detail]})


class SystemGroupError(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"
    default_detail = (
        "The admins group follows the admin role: it cannot be renamed, changed "
        "or deleted; set a user's role instead."
    )

    def __init__(self) -> None:
        detail = str(self.default_detail)
        super().__init__(detail, errors={"non_field_errors": [detail]})


class ExternalKeysUnavailable(ServiceUnavailable):
    default_detail = (
        "The identity provider's signing keys could not be fetched; try again shortly."
    )


class MfaAlreadyEnabled(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "mfa_already_enabled"
    default_detail = "Two-factor sign-in is already on; remove it first."


class MfaNotEnabled(ApiError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = "Two-factor sign-in is not on."


class MfaEnrollmentRequired(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "mfa_enrollment_required"
    default_detail = (
        "Admins must turn on two-factor sign-in first: POST /api/v1/auth/mfa/totp/."
    )
