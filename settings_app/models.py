"""Per-user preferences: one row per user, created with the defaults on first read."""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

if TYPE_CHECKING:
    from accounts.models import User

# Every notification switch with its default. A new switch is one entry here and
# needs no migration: stored objects that lack it read as its default.
NOTIFICATION_DEFAULTS: dict[str, bool] = {"email": True, "product_updates": False}
ITEMS_PER_PAGE_MAX = 100


def language_choices() -> list[tuple[str, str]]:
    # A callable keeps settings.LANGUAGES out of the migrations, so changing it
    # (or a Django upgrade adding languages) needs no new migration.
    return list(settings.LANGUAGES)


@functools.cache
def _timezone_names() -> frozenset[str]:
    # "localtime" is the host's own zone under a host-specific name, not an IANA one.
    return frozenset(zoneinfo.available_timezones() - {"localtime"})


def validate_timezone(value: str) -> None:
    if value not in _timezone_names():
        raise ValidationError(
            "%(value)s is not an IANA time zone name such as Europe/Paris.",
            code="invalid_choice",
            params={"value": repr(value)},
        )


def validate_notifications(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Must be a JSON object.", code="invalid")
    problems = [
        f"Unknown key {key!r}; the keys are {', '.join(NOTIFICATION_DEFAULTS)}."
        if key not in NOTIFICATION_DEFAULTS
        else f"{key!r} must be true or false."
        for key, flag in value.items()
        if key not in NOTIFICATION_DEFAULTS or not isinstance(flag, bool)
    ]
    if problems:
        raise ValidationError(problems, code="invalid")


def notification_defaults() -> dict[str, bool]:
    return dict(NOTIFICATION_DEFAULTS)


def notifications_merged(
    stored: Mapping[str, Any], changes: Mapping[str, bool]
) -> dict[str, bool]:
    """Every known switch: from `changes`, else as stored, else its default."""
    return {
        key: changes.get(key, stored.get(key, default))
        for key, default in NOTIFICATION_DEFAULTS.items()
    }


class PreferencesManager(models.Manager["Preferences"]):
    def for_user(self, user: User) -> Preferences:
        """The user's preferences, created with the defaults on first read."""
        # get_or_create inserts inside a savepoint; when a concurrent first read
        # wins the unique constraint, it reads that row instead of failing.
        preferences, _ = self.get_or_create(user=user)
        return preferences


class Theme(models.TextChoices):
    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"


class Preferences(models.Model):
    # The document the API reads and writes, in its order. Each field's model
    # default is the default everywhere: first read, reset and the schema.
    FIELDS = ("theme", "language", "timezone", "notifications", "items_per_page")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences"
    )
    theme = models.CharField(max_length=16, choices=Theme, default=Theme.SYSTEM)
    language = models.CharField(max_length=16, choices=language_choices, default="en")
    timezone = models.CharField(
        max_length=64, default="UTC", validators=[validate_timezone]
    )
    notifications = models.JSONField(
        default=notification_defaults, validators=[validate_notifications]
    )
    items_per_page = models.PositiveSmallIntegerField(
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(ITEMS_PER_PAGE_MAX)],
    )
    # The ETag's source. Every write bumps it under the row lock, so the tag is
    # strong and never repeats (a hash would come back when a value is set back).
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PreferencesManager()

    class Meta:
        verbose_name_plural = "preferences"
        ordering = ["-updated_at", "-id"]
        # language and timezone have no constraint: their valid values come from
        # settings and the host's time zone database, which a migration would freeze.
        constraints = [
            models.CheckConstraint(
                condition=models.Q(theme__in=Theme.values),
                name="preferences_theme_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    items_per_page__gte=1, items_per_page__lte=ITEMS_PER_PAGE_MAX
                ),
                name="preferences_items_per_page_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Preferences of user {self.user_id}"

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        defaults = {}
        for name in cls.FIELDS:
            field = cls._meta.get_field(name)
            assert isinstance(field, models.Field)  # noqa: S101 (FIELDS are columns)
            defaults[name] = field.get_default()
        return defaults
