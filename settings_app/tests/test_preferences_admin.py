"""The Django admin lists preferences with their user's email, read-only."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from settings_app.models import Preferences

CHANGELIST = reverse("admin:settings_app_preferences_changelist")

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(client, admin_user):
    client.force_login(admin_user)
    return client


def test_changelist_shows_each_users_email(console, approved_user):
    Preferences.objects.for_user(approved_user)

    response = console.get(CHANGELIST)

    assert response.status_code == HTTPStatus.OK
    assert approved_user.email in response.content.decode()


def test_preferences_cannot_be_changed_in_the_admin(console, approved_user):
    preferences = Preferences.objects.for_user(approved_user)
    url = reverse("admin:settings_app_preferences_change", args=[preferences.pk])

    response = console.post(url, {"theme": "dark"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    preferences.refresh_from_db()
    assert (preferences.theme, preferences.version) == ("system", 1)


def test_preferences_cannot_be_added_in_the_admin(console):
    response = console.get(reverse("admin:settings_app_preferences_add"))

    assert response.status_code == HTTPStatus.FORBIDDEN
