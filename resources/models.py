from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ResourceQuerySet(models.QuerySet):
    def owned_by(self, user) -> ResourceQuerySet:
        """What the user may see: their own resources, or every one for admins."""
        if user.is_admin:
            return self
        return self.filter(owner=user)


class Resource(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        ARCHIVED = "archived"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="resources"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.ACTIVE)
    share_token = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ResourceQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"])]
        permissions = [("share_resource", "Can create a public share link")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(title=""), name="resource_title_not_blank"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ResourceFile(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    resource = models.ForeignKey(
        Resource, on_delete=models.CASCADE, related_name="files"
    )
    file = models.FileField(max_length=500)
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.BigIntegerField()
    checksum = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name
