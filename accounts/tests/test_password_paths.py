"""Every way of setting a password ends the user's sessions and is audited once."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from http import HTTPStatus

import pytest
from django.urls import reverse

from accounts.models import User
from conftest import DEFAULT_PASSWORD
from core.audit import Action
from core.models import ActivityLog
from core.tests.served_app import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    BASE_DIR,
    clean_env,
    database_copy,
    manage,
)

REFRESH = "/api/v1/auth/refresh/"
NEW = "a-brand-new-passphrase"


def _refused(api_client, refresh: str) -> bool:
    response = api_client.post(REFRESH, {"refresh": refresh}, format="json")
    return (
        response.status_code == HTTPStatus.UNAUTHORIZED
        and response.json()["code"] == "token_not_valid"
    )


def _password_entries(user: User) -> list[ActivityLog]:
    return list(
        ActivityLog.objects.filter(
            target_id=str(user.pk),
            action__in=[Action.PASSWORD_CHANGED, Action.PASSWORD_RESET],
        )
    )


def _assert_new_password_ended_sessions(
    api_client, user: User, refresh: str, *, action: str, actor: User, via: str
) -> None:
    """The password is NEW, the refresh token issued before is refused, one entry."""
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert _refused(api_client, refresh)
    [entry] = _password_entries(user)
    assert (entry.action, entry.actor, entry.metadata) == (action, actor, {"via": via})


# --- allauth's own pages -----------------------------------------------------------


@pytest.mark.django_db
def test_the_emailed_reset_link_page_ends_every_session(
    client, api_client, approved_user, sign_in, mailoutbox
):
    tokens = sign_in(approved_user)
    api_client.post(
        "/api/v1/auth/password/reset/", {"email": approved_user.email}, format="json"
    )
    link = re.search(
        r"https?://[^/\s]+(/\S*/password/reset/key/\S+/)", mailoutbox[-1].body
    )
    set_password_page = client.get(link.group(1), follow=True)

    response = client.post(
        set_password_page.redirect_chain[-1][0],
        {"password1": NEW, "password2": NEW},
    )

    assert response.status_code == HTTPStatus.FOUND
    _assert_new_password_ended_sessions(
        api_client,
        approved_user,
        tokens["refresh"],
        action=Action.PASSWORD_RESET,
        actor=approved_user,
        via="web",
    )


@pytest.mark.django_db
def test_the_password_change_page_ends_every_session(
    client, api_client, approved_user, sign_in
):
    tokens = sign_in(approved_user)
    client.force_login(approved_user)

    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": DEFAULT_PASSWORD, "password1": NEW, "password2": NEW},
    )

    assert response.status_code == HTTPStatus.FOUND
    _assert_new_password_ended_sessions(
        api_client,
        approved_user,
        tokens["refresh"],
        action=Action.PASSWORD_CHANGED,
        actor=approved_user,
        via="web",
    )


# --- The Django admin --------------------------------------------------------------


@pytest.mark.django_db
def test_the_admins_password_form_ends_the_users_sessions(
    client, api_client, admin_user, approved_user, sign_in
):
    tokens = sign_in(approved_user)
    client.force_login(admin_user)
    url = reverse("admin:accounts_user_password", args=[approved_user.pk])

    response = client.post(url, {"new_password1": NEW, "new_password2": NEW})

    assert response.status_code == HTTPStatus.FOUND
    _assert_new_password_ended_sessions(
        api_client,
        approved_user,
        tokens["refresh"],
        action=Action.PASSWORD_CHANGED,
        actor=admin_user,
        via="admin",
    )


@pytest.mark.django_db
def test_the_user_change_page_links_to_the_password_form(client, admin_user):
    client.force_login(admin_user)

    page = client.get(reverse("admin:accounts_user_change", args=[admin_user.pk]))

    assert reverse("admin:accounts_user_password", args=[admin_user.pk]) in (
        page.content.decode()
    )


@pytest.mark.django_db
def test_the_admins_password_form_refuses_a_weak_password(
    client, admin_user, approved_user
):
    client.force_login(admin_user)
    url = reverse("admin:accounts_user_password", args=[approved_user.pk])

    response = client.post(url, {"new_password1": "123", "new_password2": "123"})

    assert response.status_code == HTTPStatus.OK
    assert "too short" in response.content.decode()
    approved_user.refresh_from_db()
    assert approved_user.check_password(DEFAULT_PASSWORD)


@pytest.mark.django_db
def test_an_admin_setting_their_own_password_stays_in_the_admin(client, admin_user):
    client.force_login(admin_user)
    url = reverse("admin:accounts_user_password", args=[admin_user.pk])

    client.post(url, {"new_password1": NEW, "new_password2": NEW})

    assert client.get(reverse("admin:index")).status_code == HTTPStatus.OK


# --- The API keeps its own rules ---------------------------------------------------


@pytest.mark.django_db
def test_the_api_change_keeps_its_own_session_and_writes_one_entry(
    api_client, auth_client, approved_user, sign_in
):
    other = sign_in(approved_user)
    client = auth_client(approved_user)

    client.post(
        "/api/v1/auth/password/change/",
        {"old_password": DEFAULT_PASSWORD, "new_password": NEW},
        format="json",
    )

    assert _refused(api_client, other["refresh"])
    assert not _refused(api_client, client.tokens["refresh"])
    [entry] = _password_entries(approved_user)
    assert entry.metadata == {"via": "api"}


@pytest.mark.django_db
def test_a_password_set_in_code_ends_the_sessions(api_client, approved_user, sign_in):
    tokens = sign_in(approved_user)

    approved_user.set_password(NEW)
    approved_user.save()

    assert _refused(api_client, tokens["refresh"])
    [entry] = _password_entries(approved_user)
    assert (entry.actor, entry.metadata) == (None, {"via": "other"})


@pytest.mark.django_db
def test_a_hash_upgrade_at_sign_in_is_not_a_password_change(
    api_client, approved_user, sign_in, settings
):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    first = sign_in(approved_user)

    sign_in(approved_user)  # the MD5 hash is upgraded on this check

    assert not _refused(api_client, first["refresh"])
    assert _password_entries(approved_user) == []


# --- manage.py changepassword, run for real ----------------------------------------

_SIGN_IN = f"""
from rest_framework.test import APIClient
response = APIClient().post(
    "/api/v1/auth/login/",
    {{"email": {ADMIN_EMAIL!r}, "password": {ADMIN_PASSWORD!r}}},
    format="json",
)
print(response.json()["refresh"])
"""

_REFRESH = """
import json, sys
from rest_framework.test import APIClient
from core.models import ActivityLog
response = APIClient().post(
    "/api/v1/auth/refresh/", {"refresh": sys.argv[-1]}, format="json"
)
entries = list(ActivityLog.objects.filter(action="password.changed").values_list(
    "metadata", flat=True
))
print(json.dumps([response.status_code, response.json()["code"], entries]))
"""


def test_manage_py_changepassword_ends_the_users_sessions(
    served_database_template, tmp_path
):
    database = database_copy(served_database_template, tmp_path / "site")
    env = clean_env(database, ALLOWED_HOSTS="testserver")
    refresh = manage("shell", "--no-imports", "-c", _SIGN_IN, env=env).stdout.strip()

    # A new session has no terminal, so getpass reads the two answers from stdin.
    changed = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "changepassword", ADMIN_EMAIL],
        cwd=BASE_DIR,
        env=env,
        input=f"{NEW}\n{NEW}\n",
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )

    assert changed.returncode == 0, changed.stderr
    script = _REFRESH.replace("sys.argv[-1]", repr(refresh))
    result = manage("shell", "--no-imports", "-c", script, env=env)
    assert json.loads(result.stdout) == [401, "token_not_valid", [{"via": "other"}]]
