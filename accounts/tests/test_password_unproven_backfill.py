"""Accounts from before the unproven-password flag get it from their audit trail."""

import pytest
from django.core.management import call_command

from accounts.models import User
from core.audit import Action, record_activity

BEFORE = "0004_password_unproven_and_admins_notified_at"


@pytest.fixture
def before_backfill(transactional_db):
    call_command("migrate", "accounts", BEFORE, verbosity=0)
    yield
    call_command("migrate", verbosity=0)


def _signed_up(user: User, method: str = "password") -> User:
    record_activity(action=Action.SIGNED_UP, target=user, metadata={"method": method})
    return user


def test_a_password_from_a_password_sign_up_is_marked_unproven(
    before_backfill, user_factory
):
    user = _signed_up(user_factory())

    call_command("migrate", "accounts", verbosity=0)

    user.refresh_from_db()
    assert user.password_unproven


@pytest.mark.parametrize("since", [Action.PASSWORD_CHANGED, Action.PASSWORD_RESET])
def test_a_password_set_again_since_the_sign_up_is_left_alone(
    before_backfill, user_factory, since
):
    user = _signed_up(user_factory())
    record_activity(action=since, target=user)

    call_command("migrate", "accounts", verbosity=0)

    user.refresh_from_db()
    assert not user.password_unproven


def test_accounts_without_a_password_sign_up_are_left_alone(
    before_backfill, user_factory
):
    google = _signed_up(user_factory(password=None), method="google")
    passwordless = _signed_up(user_factory(password=None))
    seeded = user_factory()

    call_command("migrate", "accounts", verbosity=0)

    for user in (google, passwordless, seeded):
        user.refresh_from_db()
        assert not user.password_unproven
