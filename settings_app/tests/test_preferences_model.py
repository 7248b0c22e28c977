"""The Preferences row: created once per user, defaults in one place, DB constraints."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from settings_app import services
from settings_app.models import Preferences

pytestmark = pytest.mark.django_db

BOOKKEEPING = {"id", "user", "version", "updated_at"}


def test_for_user_creates_the_row_once(approved_user):
    first = Preferences.objects.for_user(approved_user)

    second = Preferences.objects.for_user(approved_user)

    assert first.pk == second.pk
    assert Preferences.objects.count() == 1


def test_every_column_is_either_a_preference_or_bookkeeping():
    columns = {field.name for field in Preferences._meta.concrete_fields}

    assert columns == set(Preferences.FIELDS) | BOOKKEEPING


def test_reset_restores_the_model_defaults(approved_user):
    fresh = Preferences.objects.for_user(approved_user)
    expected = {name: getattr(fresh, name) for name in Preferences.FIELDS}
    services.preferences_update(
        user=approved_user,
        changes={"theme": "dark", "notifications": {"email": False}},
    )

    reset = services.preferences_reset(user=approved_user)

    assert {name: getattr(reset, name) for name in Preferences.FIELDS} == expected


def test_defaults_do_not_share_the_notifications_object():
    first, second = Preferences.defaults(), Preferences.defaults()

    first["notifications"]["email"] = False

    assert second["notifications"]["email"] is True


def test_every_write_increments_the_version(approved_user):
    start = Preferences.objects.for_user(approved_user).version

    services.preferences_update(user=approved_user, changes={"theme": "dark"})
    services.preferences_reset(user=approved_user)

    assert Preferences.objects.get(user=approved_user).version == start + 2


def test_deleting_the_user_deletes_their_preferences(approved_user):
    Preferences.objects.for_user(approved_user)

    approved_user.delete()

    assert not Preferences.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("theme", "blue"), ("items_per_page", 0), ("items_per_page", 101)],
)
def test_database_refuses_out_of_range_values(approved_user, field, value):
    preferences = Preferences.objects.for_user(approved_user)

    with pytest.raises(IntegrityError), transaction.atomic():
        Preferences.objects.filter(pk=preferences.pk).update(**{field: value})


def test_a_second_row_for_the_same_user_is_refused(approved_user):
    Preferences.objects.for_user(approved_user)

    with pytest.raises(IntegrityError), transaction.atomic():
        Preferences.objects.create(user=approved_user)
