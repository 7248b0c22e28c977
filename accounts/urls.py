from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts import views

router = SimpleRouter()
router.register("sessions", views.SessionViewSet, basename="session")

urlpatterns = [
    path("register/", views.RegisterView.as_view(), name="register"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("google/", views.GoogleSignInView.as_view(), name="google"),
    path("code/request/", views.LoginCodeRequestView.as_view(), name="code-request"),
    path("code/confirm/", views.LoginCodeConfirmView.as_view(), name="code-confirm"),
    path("mfa/", views.MfaView.as_view(), name="mfa"),
    path("mfa/totp/", views.TotpView.as_view(), name="mfa-totp"),
    path("mfa/totp/confirm/", views.TotpConfirmView.as_view(), name="mfa-totp-confirm"),
    path("mfa/verify/", views.MfaVerifyView.as_view(), name="mfa-verify"),
    path("refresh/", views.RefreshView.as_view(), name="refresh"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("logout-all/", views.LogoutAllView.as_view(), name="logout-all"),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/avatar/", views.AvatarView.as_view(), name="me-avatar"),
    path("request-access/", views.RequestAccessView.as_view(), name="request-access"),
    path(
        "password/change/", views.PasswordChangeView.as_view(), name="password-change"
    ),
    path("password/reset/", views.PasswordResetView.as_view(), name="password-reset"),
    path(
        "password/reset/confirm/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        "invitation/accept/",
        views.InvitationAcceptView.as_view(),
        name="invitation-accept",
    ),
    path("email/confirm/", views.EmailConfirmView.as_view(), name="email-confirm"),
    path("email/resend/", views.EmailResendView.as_view(), name="email-resend"),
    *router.urls,
]
