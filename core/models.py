from __future__ import annotations

from django.db import models
from django.utils import timezone


class FileDeletion(models.Model):
    """A stored object whose row is gone; removed after commit, retried until it is."""

    path = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.path


class ActivityLog(models.Model):
    """A security-relevant event; written in the transaction of the change it records."""

    class Action(models.TextChoices):
        SIGN_IN_SUCCEEDED = "sign_in.succeeded"
        SIGN_IN_FAILED = "sign_in.failed"
        SIGNED_UP = "user.signed_up"
        ACCESS_REQUESTED = "access.requested"
        ACCESS_APPROVED = "access.approved"
        ACCESS_REJECTED = "access.rejected"
        ROLE_CHANGED = "user.role_changed"
        FIRST_ADMIN_APPLIED = "user.first_admin_applied"
        STATUS_CHANGED = "user.status_changed"
        PASSWORD_CHANGED = "password.changed"  # noqa: S105 (an event name)
        PASSWORD_RESET = "password.reset"  # noqa: S105 (an event name)
        LOGGED_OUT_ALL = "sessions.logged_out_all"
        ACCOUNT_DELETED = "user.deleted"
        INVITATION_SENT = "invitation.sent"
        INVITATION_ACCEPTED = "invitation.accepted"
        RESOURCE_CREATED = "resource.created"
        RESOURCE_DELETED = "resource.deleted"
        RESOURCE_SHARED = "resource.shared"
        RESOURCE_UNSHARED = "resource.unshared"
        MIGRATIONS_APPLIED = "migrations.applied"
        MFA_ENABLED = "mfa.enabled"
        MFA_DISABLED = "mfa.disabled"
        MFA_CODE_FAILED = "mfa.code_failed"
        GROUP_CREATED = "group.created"
        GROUP_RENAMED = "group.renamed"
        GROUP_DELETED = "group.deleted"
        GROUP_PERMISSION_ADDED = "group.permission_added"
        GROUP_PERMISSION_REMOVED = "group.permission_removed"
        USER_GROUP_ADDED = "user.group_added"
        USER_GROUP_REMOVED = "user.group_removed"

    actor = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,  # entries outlive their actor, anonymised
        related_name="+",
    )
    action = models.CharField(max_length=40, choices=Action)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["action", "-created_at"]),
            models.Index(fields=["actor", "-created_at"]),
            models.Index(fields=["target_type", "target_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id}"


class TaskWorker(models.Model):
    """A running task worker, seen alive at `seen_at` (core.tasks keeps it fresh)."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["started_at"]

    def __str__(self) -> str:
        return self.worker_id
