"""user_to_json, built by hand, renders to UserSerializer's bytes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import RequestFactory
from django.utils import timezone

from accounts.models import User
from accounts.serializers import UserSerializer, user_to_json
from core.renderers import FastJSONRenderer


def _users(user_factory) -> list[User]:
    pending = user_factory(status=User.Status.PENDING, email_verified=False)
    admin = user_factory(role=User.Role.ADMIN, full_name="Ada Admin")
    admin.last_login = datetime(2026, 12, 2, 9, 30, 0, tzinfo=UTC)
    admin.avatar_url = "https://lh3.googleusercontent.com/a/photo"
    admin.save()
    uploaded = user_factory(full_name="Zoë Upload", auth_provider="google")
    uploaded.avatar_file.name = "avatars/zoe.png"
    uploaded.last_login = datetime(2026, 12, 2, 9, 30, 0, 123456, tzinfo=UTC)
    uploaded.save()
    return [pending, admin, uploaded]


def _render(data: dict) -> bytes:
    return FastJSONRenderer().render(data)


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris"])
@pytest.mark.parametrize("with_request", [False, True])
def test_user_to_json_renders_as_the_serializer(user_factory, zone, with_request):
    request = RequestFactory().get("/api/v1/auth/me/") if with_request else None
    with timezone.override(zone):
        for user in _users(user_factory):
            user = User.objects.get(pk=user.pk)
            expected = UserSerializer(user, context={"request": request}).data
            assert _render(user_to_json(user, request=request)) == _render(expected)
