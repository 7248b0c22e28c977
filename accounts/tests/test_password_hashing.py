"""Passwords are hashed with Argon2id at OWASP's cost; hashes at other costs upgrade."""

from http import HTTPStatus

import pytest
from argon2 import extract_parameters
from django.contrib.auth.hashers import Argon2PasswordHasher, make_password

from accounts.models import User
from conftest import DEFAULT_PASSWORD


@pytest.fixture
def argon2(settings):
    from config.settings import PASSWORD_HASHERS

    settings.PASSWORD_HASHERS = PASSWORD_HASHERS  # conftest swaps in MD5 for speed


def test_new_passwords_use_argon2id_at_owasps_recommended_cost(argon2):
    encoded = make_password(DEFAULT_PASSWORD)

    algorithm, hashed = encoded.split("$", 1)
    parameters = extract_parameters("$" + hashed)
    assert algorithm == "argon2"
    assert parameters.type.name == "ID"
    assert parameters.memory_cost >= 19 * 1024  # KiB
    assert parameters.time_cost >= 2
    assert parameters.parallelism == 1


@pytest.mark.django_db
def test_a_hash_at_djangos_default_cost_signs_in_and_is_rehashed(
    argon2, api_client, approved_user
):
    old = Argon2PasswordHasher().encode(DEFAULT_PASSWORD, "saltsaltsalt1234")
    User.objects.filter(pk=approved_user.pk).update(password=old)

    response = api_client.post(
        "/api/v1/auth/login/",
        {"email": approved_user.email, "password": DEFAULT_PASSWORD},
        format="json",
    )

    assert response.status_code == HTTPStatus.OK
    stored = User.objects.get(pk=approved_user.pk).password
    assert stored != old
    assert "m=19456,t=2,p=1" in stored
