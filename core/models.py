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
