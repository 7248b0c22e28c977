"""The accounts tables: User, AccessRequest and AuthSession.

User keeps its own invariants: its role stays in step with is_staff, is_superuser
and the admins group, and every saved new password ends its sessions and is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar

from allauth.account.models import EmailAddress
from django.contrib.auth.models import (
    AbstractBaseUser,
    BaseUserManager,
    Group,
    PermissionsMixin,
)
from django.db import models, transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower
from django.utils import timezone

from core.audit import Action, record_activity

ADMINS_GROUP = "admins"
# Set through a link mailed to the address: whoever chose the password holds the mailbox.
_MAILBOX_PROVEN_ACTIONS = {Action.PASSWORD_RESET, Action.INVITATION_ACCEPTED}


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def verified_addresses(*, user, email) -> models.QuerySet[EmailAddress]:
    """The one definition of "email verified": the user has a verified address row
    for the email the account has now. `user` and `email` may be OuterRefs.
    accounts/selectors.py spells it in SQL; a test holds the two equal."""
    return EmailAddress.objects.filter(user=user, email=email, verified=True)


class UserQuerySet(models.QuerySet):
    def with_email_verified(self) -> UserQuerySet:
        verified = verified_addresses(user=OuterRef("pk"), email=OuterRef("email"))
        return self.annotate(email_verified=Exists(verified))

    def active_admins(self) -> UserQuerySet:
        return self.filter(role=User.Role.ADMIN, status=User.Status.APPROVED)


@dataclass(frozen=True)
class PasswordChange:
    """Who set a user's password and how, noted by User.set_password()."""

    actor: User | None
    via: str  # "api", "web" (allauth's pages), "admin" or "other"
    action: str
    keep_session_id: str | None = None


# django-stubs can't type a from_queryset() base class (mypy_django_plugin limit).
class UserManager(BaseUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)  # None makes it unusable
        user.save(using=self._db)
        return user

    @transaction.atomic
    def create_superuser(
        self, email: str, password: str | None = None, **fields
    ) -> User:
        """An approved admin with a confirmed email (createsuperuser, seed data)."""
        fields.pop("is_staff", None)
        fields.pop("is_superuser", None)
        user = User(email=normalize_email(email), status=User.Status.APPROVED, **fields)
        user.set_password(password)
        user.save()
        EmailAddress.objects.create(
            user=user, email=user.email, primary=True, verified=True
        )
        return user.set_role(User.Role.ADMIN)


class User(AbstractBaseUser, PermissionsMixin):
    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"
        DISABLED = "disabled"

    class Role(models.TextChoices):
        USER = "user"
        ADMIN = "admin"

    class AuthProvider(models.TextChoices):
        PASSWORD = "password"  # noqa: S105 (a sign-in method, not a secret)
        GOOGLE = "google"
        EXTERNAL = "external"  # bearer tokens of an EXTERNAL_JWT_ISSUERS provider

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    avatar_url = models.URLField(max_length=1000, blank=True)
    avatar_file = models.FileField(max_length=500, blank=True)  # when uploaded here
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    role = models.CharField(max_length=16, choices=Role, default=Role.USER)
    auth_provider = models.CharField(
        max_length=16, choices=AuthProvider, default=AuthProvider.PASSWORD
    )
    is_staff = models.BooleanField(default=False)
    # The current password was chosen before its address was verified, so it may be
    # a squatter's: a verified Google owner of the address joining drops it.
    password_unproven = models.BooleanField(default=False, editable=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []
    # Set by AbstractBaseUser.set_password() until the next save; set_password() below.
    _password: str | None
    _password_change: PasswordChange | None = None

    class Meta:
        ordering = ["-date_joined"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")),
                name="user_email_lowercase",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def set_password(
        self,
        raw_password: str | None,
        *,
        actor: User | None = None,
        via: str = "other",
        action: str = Action.PASSWORD_CHANGED,
        keep_session_id: str | None = None,
    ) -> None:
        """Also notes who set it, for the sessions' end and audit entry on save."""
        super().set_password(raw_password)
        self._password_change = PasswordChange(
            actor=actor, via=via, action=action, keep_session_id=keep_session_id
        )

    def save(self, *args, **kwargs) -> None:
        # Every path that sets a password (the API, allauth's pages, the admin,
        # `changepassword`, a shell) ends up here, so each one ends the user's
        # sessions. Django leaves `_password` set only for a real change, not for
        # a hash upgrade on sign-in.
        update_fields = kwargs.get("update_fields")
        change = getattr(self, "_password_change", None)
        self._password_change = None
        if (
            self._password is None
            or change is None
            or self._state.adding
            or (update_fields is not None and "password" not in update_fields)
        ):
            super().save(*args, **kwargs)
            return
        with transaction.atomic(using=kwargs.get("using")):
            super().save(*args, **kwargs)
            self._password_change_record(change)

    def _password_change_record(self, change: PasswordChange) -> None:
        """Ends the sessions of a user whose password was just saved, and audits it."""
        self.password_unproven = (
            change.action not in _MAILBOX_PROVEN_ACTIONS
            and not EmailAddress.objects.filter(
                user=self, email=self.email, verified=True
            ).exists()
        )
        User.objects.filter(pk=self.pk).update(password_unproven=self.password_unproven)
        sessions = AuthSession.objects.filter(user=self)
        if change.keep_session_id:
            sessions = sessions.exclude(pk=change.keep_session_id)
        sessions.end(reason=change.action.replace(".", "_"))
        record_activity(
            action=change.action,
            actor=change.actor,
            target=self,
            metadata={"via": change.via},
        )

    def set_role(self, role: str, *, actor: User | None = None) -> User:
        """Sets the role and keeps is_staff, is_superuser and the admins group in step."""
        is_admin = role == User.Role.ADMIN
        previous, self.role = self.role, role
        self.is_staff = self.is_superuser = is_admin
        self.save(update_fields=["role", "is_staff", "is_superuser"])
        group, _ = Group.objects.get_or_create(name=ADMINS_GROUP)
        if is_admin:
            self.groups.add(group)
        else:
            self.groups.remove(group)
        if previous != role:
            record_activity(
                action=Action.ROLE_CHANGED,
                actor=actor,
                target=self,
                metadata={"from": previous, "to": role},
            )
        return self

    @property
    def is_active(self) -> bool:  # type: ignore[override]  # Django's: a plain True
        # Django's session auth, the admin and allauth read this: only approved
        # users may hold a web session, so rejecting an admin locks /admin/ at once.
        return self.status == self.Status.APPROVED

    @property
    def is_approved(self) -> bool:
        return self.status == self.Status.APPROVED

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class AccessRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="access_requests"
    )
    reason = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    # Set once the admins have been mailed about it, alone or in an hourly digest.
    admins_notified_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(status="pending"),
                name="access_request_one_pending_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.status})"


class ExternalIdentity(models.Model):
    """A user as an external identity provider knows them: its `iss` and `sub`."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="external_identities"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "subject"], name="external_identity_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.issuer} {self.subject}"


class AuthSessionQuerySet(models.QuerySet):
    def live(self) -> AuthSessionQuerySet:
        return self.filter(ended_at__isnull=True, expires_at__gt=timezone.now())

    def end(self, *, reason: str) -> int:
        """Ends those not ended yet, which revokes their tokens at once."""
        return self.filter(ended_at__isnull=True).update(
            ended_at=timezone.now(), end_reason=reason
        )


class AuthSession(models.Model):
    """One signed-in device; its tokens carry its id, and ending it revokes them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="auth_sessions"
    )
    refresh_jti = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=32, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    objects = AuthSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "ended_at"])]

    def __str__(self) -> str:
        return f"{self.user} @ {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_live(self) -> bool:
        return self.ended_at is None and self.expires_at > timezone.now()


class LoginCode(models.Model):
    """The live sign-in code mailed to an address; only its keyed hash is kept.

    One per address: a new request replaces it. Keyed by the address, not a user,
    because where sign-up is allowed an unknown address gets a code too.
    """

    email = models.EmailField(unique=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    failed_attempts = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return f"code for {self.email}"
