"""Bearer tokens of an external identity provider (EXTERNAL_JWT_ISSUERS), verified
for real against local JWKS servers with RSA, EC P-256 and Ed25519 keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from http import HTTPStatus

import jwt
import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import external_tokens
from accounts.errors import ExternalKeysUnavailable
from accounts.jwks import JwksKeys
from accounts.models import AccessRequest, ExternalIdentity, User
from accounts.tests.audit_entries import assert_about, assert_holds_none_of, only_entry
from accounts.tests.google_keys import JwksServer, SigningKey
from config.external_jwt import external_jwt_issuers_from_env
from core.models import ActivityLog
from core.tests.live_http import exchange_json

ISSUER = "https://example-app.us.auth0.com/"
OTHER_ISSUER = "https://project.supabase.co/auth/v1"
AUDIENCE = "https://api.gatehouse.test"
ME = "/api/v1/auth/me/"


@pytest.fixture(scope="session")
def keys() -> dict[str, SigningKey]:
    return {
        algorithm: SigningKey(kid=f"{algorithm.lower()}-1", algorithm=algorithm)
        for algorithm in ("RS256", "ES256", "EdDSA")
    }


@pytest.fixture
def jwks(keys):
    server = JwksServer(list(keys.values())).start()
    yield server
    server.stop()


@pytest.fixture
def issuers(settings, monkeypatch, jwks) -> list[dict]:
    """One configured issuer served by `jwks`, with a cold key cache."""
    settings.EXTERNAL_JWT_ISSUERS = [
        {"issuer": ISSUER, "jwks_url": jwks.url, "audiences": [AUDIENCE]}
    ]
    settings.SIGNUP_MODE = "approval"
    monkeypatch.setattr(
        external_tokens, "_keys", JwksKeys(unavailable=ExternalKeysUnavailable)
    )
    return settings.EXTERNAL_JWT_ISSUERS


def claims(**overrides) -> dict:
    """Provider-shaped claims; an override of None leaves that claim out."""
    now = int(time.time())
    made = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "auth0|5f7c8ec7c33c6c004bbafe82",
        "email": "erin@example.org",
        "email_verified": True,
        "iat": now,
        "exp": now + 600,
    }
    made.update(overrides)
    return {name: value for name, value in made.items() if value is not None}


def get_me(token: str):
    return APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def approved_identity(db, issuers, user_factory) -> User:
    user = user_factory(email="erin@example.org", password=None)
    ExternalIdentity.objects.create(user=user, issuer=ISSUER, subject=claims()["sub"])
    return user


def _b64(data: dict) -> str:
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# --- Accepted -----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_a_token_of_each_algorithm_reaches_me(approved_identity, keys, algorithm):
    response = get_me(keys[algorithm].sign(claims()))

    assert response.status_code == HTTPStatus.OK, response.content
    assert response.json()["email"] == approved_identity.email
    assert response.json()["email_verified"] is True


@pytest.mark.django_db
def test_a_first_token_creates_a_pending_user_with_an_access_request(issuers, keys):
    response = get_me(keys["ES256"].sign(claims(name="Erin External")))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "approval_pending"
    user = User.objects.get(email="erin@example.org")
    assert user.status == User.Status.PENDING
    assert user.auth_provider == User.AuthProvider.EXTERNAL
    assert user.full_name == "Erin External"
    assert not user.has_usable_password()
    assert AccessRequest.objects.filter(user=user).count() == 1
    assert EmailAddress.objects.get(user=user).verified
    identity = ExternalIdentity.objects.get(user=user)
    assert (identity.issuer, identity.subject) == (ISSUER, claims()["sub"])
    signed_up = ActivityLog.objects.get(action=ActivityLog.Action.SIGNED_UP)
    assert signed_up.metadata == {
        "method": "external",
        "issuer": ISSUER,
        "status": "pending",
    }


@pytest.mark.django_db
def test_the_user_gets_through_once_approved(issuers, keys, admin_user):
    token = keys["RS256"].sign(claims())
    assert get_me(token).status_code == HTTPStatus.FORBIDDEN
    user = User.objects.get(email="erin@example.org")
    user.status = User.Status.APPROVED
    user.save(update_fields=["status"])

    response = get_me(token)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["id"] == str(user.id)
    assert AccessRequest.objects.filter(user=user).count() == 1  # not another one


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "code"),
    [
        (User.Status.REJECTED, "access_rejected"),
        (User.Status.DISABLED, "account_disabled"),
    ],
)
def test_rejected_and_disabled_users_get_the_login_codes(
    approved_identity, keys, status, code
):
    approved_identity.status = status
    approved_identity.save(update_fields=["status"])

    response = get_me(keys["RS256"].sign(claims()))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == code


@pytest.mark.django_db
def test_open_sign_up_approves_the_first_token(settings, issuers, keys):
    settings.SIGNUP_MODE = "open"

    response = get_me(keys["EdDSA"].sign(claims()))

    assert response.status_code == HTTPStatus.OK
    assert not AccessRequest.objects.exists()


@pytest.mark.django_db
def test_closed_sign_up_refuses_a_new_account(settings, issuers, keys):
    settings.SIGNUP_MODE = "closed"

    response = get_me(keys["RS256"].sign(claims()))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "permission_denied"
    assert not User.objects.exists()
    assert not ExternalIdentity.objects.exists()


@pytest.mark.django_db
def test_an_unverified_email_creates_nothing(issuers, keys):
    response = get_me(keys["RS256"].sign(claims(email_verified=False)))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "authentication_failed"
    assert "not verified" in response.json()["detail"]
    assert not User.objects.exists()


# --- An existing account with the token's email -------------------------------


@pytest.mark.django_db
def test_a_confirmed_account_is_linked_and_keeps_its_password(
    issuers, keys, approved_user, sign_in
):
    tokens = sign_in(approved_user)
    token = keys["RS256"].sign(claims(email=approved_user.email.upper()))

    response = get_me(token)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["id"] == str(approved_user.id)
    approved_user.refresh_from_db()
    assert approved_user.has_usable_password()
    ours = APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert ours.status_code == HTTPStatus.OK  # its sessions go on
    linked = ActivityLog.objects.get(
        action=ActivityLog.Action.SIGN_IN_SUCCEEDED, metadata__method="external"
    )
    assert linked.metadata["linked"] is True
    assert linked.metadata["issuer"] == ISSUER


@pytest.mark.django_db
def test_an_unconfirmed_account_loses_its_password_and_sessions(
    issuers, keys, user_factory, sign_in
):
    squatter = user_factory(email="erin@example.org", email_verified=False)
    tokens = sign_in(squatter)

    response = get_me(keys["RS256"].sign(claims()))

    assert response.status_code == HTTPStatus.OK
    squatter.refresh_from_db()
    assert not squatter.has_usable_password()
    ours = APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert ours.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_a_providers_sid_claim_is_not_taken_for_one_of_our_sessions(
    approved_identity, keys, sign_in
):
    approved_identity.set_password("Another-long-passphrase-1")
    approved_identity.save()
    ours = sign_in(approved_identity, password="Another-long-passphrase-1")
    sid = jwt.decode(ours["access"], options={"verify_signature": False})["sid"]
    token = keys["RS256"].sign(claims(sid=sid))

    response = APIClient().get(
        "/api/v1/auth/sessions/", HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert response.status_code == HTTPStatus.OK
    assert [s["current"] for s in response.json()] == [False]


# --- Keys: caching, rotation, outage ------------------------------------------


@pytest.mark.django_db
def test_keys_are_fetched_once_while_fresh(approved_identity, keys, jwks):
    for _ in range(3):
        assert get_me(keys["RS256"].sign(claims())).status_code == HTTPStatus.OK

    assert jwks.fetches == 1


@pytest.mark.django_db
def test_keys_served_without_cache_headers_are_kept_a_while(
    approved_identity, keys, jwks
):
    jwks.max_age = None

    for _ in range(3):
        assert get_me(keys["EdDSA"].sign(claims())).status_code == HTTPStatus.OK

    assert jwks.fetches == 1


@pytest.mark.django_db
def test_a_rotated_key_is_accepted_after_one_refetch(approved_identity, keys, jwks):
    assert get_me(keys["RS256"].sign(claims())).status_code == HTTPStatus.OK
    rotated = SigningKey(kid="es256-2", algorithm="ES256")
    jwks.keys = [*jwks.keys, rotated]

    response = get_me(rotated.sign(claims()))

    assert response.status_code == HTTPStatus.OK
    assert jwks.fetches == 2


@pytest.mark.django_db
def test_unknown_kids_cost_at_most_one_refetch(approved_identity, jwks):
    stranger = SigningKey(kid="nobody", algorithm="ES256")

    answers = [get_me(stranger.sign(claims())) for _ in range(3)]

    assert {a.status_code for a in answers} == {HTTPStatus.UNAUTHORIZED}
    assert answers[0].json()["code"] == "authentication_failed"
    assert "unknown key" in answers[0].json()["detail"]
    assert jwks.fetches == 2  # the first fetch, and one refetch for all three


@pytest.mark.django_db
def test_unreachable_keys_answer_service_unavailable(settings, issuers, keys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.EXTERNAL_JWT_ISSUERS[0]["jwks_url"] = (
        f"http://127.0.0.1:{closed_port}/.well-known/jwks.json"
    )

    response = get_me(keys["RS256"].sign(claims()))

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["code"] == "service_unavailable"
    assert int(response["Retry-After"]) >= 1


# --- Forged and expired variants ----------------------------------------------


def _alg_none(keys) -> str:
    return f"{_b64({'alg': 'none', 'kid': 'rs256-1'})}.{_b64(claims())}."


def _hs256_with_public_key(keys) -> str:
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": "rs256-1"})
    signing_input = f"{header}.{_b64(claims())}".encode()
    secret = json.dumps(keys["RS256"].jwk()).encode()  # what an attacker can read
    mac = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{signing_input.decode()}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def _wrong_signature(keys) -> str:
    impostor = SigningKey(kid="rs256-1")  # the real kid, another private key
    return impostor.sign(claims())


def _key_of_another_algorithm(keys) -> str:
    # The ES256 key's kid on an RS256 token: the JWK decides the algorithm.
    return SigningKey(kid="es256-1").sign(claims())


FORGED = {
    "wrong signature": _wrong_signature,
    "alg none": _alg_none,
    "HS256 with the public key as secret": _hs256_with_public_key,
    "kid of a key of another algorithm": _key_of_another_algorithm,
    "unknown kid": lambda keys: SigningKey(kid="rs256-9").sign(claims()),
    "no kid": lambda keys: jwt.encode(
        claims(), keys["RS256"].private_key, algorithm="RS256"
    ),
    "wrong aud": lambda keys: keys["RS256"].sign(claims(aud="someone-else")),
    "no aud": lambda keys: keys["RS256"].sign(claims(aud=None)),
    "expired": lambda keys: keys["ES256"].sign(
        claims(exp=int(time.time()) - 120, iat=int(time.time()) - 720)
    ),
    "no exp": lambda keys: keys["ES256"].sign(claims(exp=None)),
    "nbf in the future": lambda keys: keys["EdDSA"].sign(
        claims(nbf=int(time.time()) + 600)
    ),
    "missing sub": lambda keys: keys["EdDSA"].sign(claims(sub=None)),
    "empty sub": lambda keys: keys["EdDSA"].sign(claims(sub="")),
    "email_verified false": lambda keys: keys["RS256"].sign(
        claims(sub="new|1", email_verified=False)
    ),
    "email_verified missing": lambda keys: keys["RS256"].sign(
        claims(sub="new|2", email_verified=None)
    ),
    "email not an address": lambda keys: keys["RS256"].sign(
        claims(sub="new|3", email="not an address")
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("variant", list(FORGED))
def test_forged_and_expired_tokens_are_refused(approved_identity, keys, variant):
    response = get_me(FORGED[variant](keys))

    assert response.status_code == HTTPStatus.UNAUTHORIZED, response.content
    assert response.json()["code"] == "authentication_failed"
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_a_token_of_an_unconfigured_issuer_is_refused(approved_identity, keys):
    token = keys["RS256"].sign(claims(iss="https://evil.example/"))

    response = get_me(token)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "token_not_valid"  # our own tokens' path


@pytest.mark.django_db
def test_a_token_of_one_issuer_is_not_accepted_as_another(
    settings, approved_identity, keys, jwks
):
    stranger_jwks = JwksServer([SigningKey(kid="other-1", algorithm="ES256")])
    settings.EXTERNAL_JWT_ISSUERS.append(
        {"issuer": OTHER_ISSUER, "jwks_url": stranger_jwks.url, "audiences": ["x"]}
    )
    stranger_jwks.start()
    try:
        # Signed by the first issuer's key, claiming to be the second issuer.
        token = keys["ES256"].sign(claims(iss=OTHER_ISSUER, aud="x"))
        response = get_me(token)
    finally:
        stranger_jwks.stop()

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "authentication_failed"


# --- Several issuers ----------------------------------------------------------


@pytest.mark.django_db
def test_two_issuers_each_work_and_keep_their_identities_apart(
    settings, issuers, keys, jwks
):
    settings.SIGNUP_MODE = "open"
    other_key = SigningKey(kid="supabase-1", algorithm="ES256")
    other_jwks = JwksServer([other_key]).start()
    settings.EXTERNAL_JWT_ISSUERS.append(
        {"issuer": OTHER_ISSUER, "jwks_url": other_jwks.url, "audiences": ["authn"]}
    )
    try:
        first = get_me(keys["RS256"].sign(claims(sub="same-sub")))
        second = get_me(
            other_key.sign(
                claims(iss=OTHER_ISSUER, aud="authn", sub="same-sub", email="o@x.org")
            )
        )
    finally:
        other_jwks.stop()

    assert first.status_code == second.status_code == HTTPStatus.OK
    assert first.json()["email"] == "erin@example.org"
    assert second.json()["email"] == "o@x.org"
    assert ExternalIdentity.objects.filter(subject="same-sub").count() == 2
    assert (jwks.fetches, other_jwks.fetches) == (1, 1)


# --- Cost ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_known_identity_costs_one_query(approved_identity, keys, user_factory):
    token = keys["RS256"].sign(claims())
    get_me(token)  # warms the key cache
    with CaptureQueriesContext(connection) as few:
        get_me(token)
    for number in range(5):  # more users and identities must not cost more
        other = user_factory()
        ExternalIdentity.objects.create(user=other, issuer=ISSUER, subject=f"s{number}")

    with CaptureQueriesContext(connection) as many:
        response = get_me(token)

    assert response.status_code == HTTPStatus.OK
    assert len(few) == len(many) == 1


@pytest.mark.django_db
def test_a_known_identitys_groups_and_permissions_cost_no_more_queries(
    approved_identity, keys
):
    from django.contrib.auth.models import Permission

    from accounts import groups as group_services

    token = keys["RS256"].sign(claims())
    get_me(token)  # warms the key cache
    share = Permission.objects.get(codename="share_resource")
    sharers = group_services.group_create(
        name="sharers", permissions=[share], actor=None
    )
    group_services.user_set_groups(user=approved_identity, groups=[sharers], actor=None)

    with CaptureQueriesContext(connection) as queries:
        response = get_me(token)

    assert response.json()["groups"] == ["sharers"]
    assert response.json()["permissions"] == ["resources.share_resource"]
    assert len(queries) == 1


@pytest.mark.django_db
def test_our_own_tokens_still_cost_one_query_with_issuers_configured(
    issuers, approved_user, sign_in
):
    access = sign_in(approved_user)["access"]

    with CaptureQueriesContext(connection) as queries:
        response = APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {access}")

    assert response.status_code == HTTPStatus.OK
    assert len(queries) == 1


# --- Settings -----------------------------------------------------------------


@pytest.fixture
def env(monkeypatch):
    for name in (
        "EXTERNAL_JWT_ISSUER",
        "EXTERNAL_JWT_JWKS_URL",
        "EXTERNAL_JWT_AUDIENCE",
        "EXTERNAL_JWT_ISSUERS_JSON",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_no_issuer_is_configured_by_default(env):
    assert external_jwt_issuers_from_env(is_production=True) == []


def test_the_single_issuer_names_and_a_json_list_combine(env):
    env.setenv("EXTERNAL_JWT_ISSUER", ISSUER)
    env.setenv("EXTERNAL_JWT_JWKS_URL", f"{ISSUER}.well-known/jwks.json")
    env.setenv("EXTERNAL_JWT_AUDIENCE", f"{AUDIENCE}, mobile")
    env.setenv(
        "EXTERNAL_JWT_ISSUERS_JSON",
        json.dumps(
            [
                {
                    "issuer": OTHER_ISSUER,
                    "jwks_url": f"{OTHER_ISSUER}/.well-known/jwks.json",
                    "audience": "authenticated",
                }
            ]
        ),
    )

    assert external_jwt_issuers_from_env(is_production=True) == [
        {
            "issuer": ISSUER,
            "jwks_url": f"{ISSUER}.well-known/jwks.json",
            "audiences": [AUDIENCE, "mobile"],
        },
        {
            "issuer": OTHER_ISSUER,
            "jwks_url": f"{OTHER_ISSUER}/.well-known/jwks.json",
            "audiences": ["authenticated"],
        },
    ]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("EXTERNAL_JWT_AUDIENCE", "", "needs an issuer, a JWKS URL and an audience"),
        ("EXTERNAL_JWT_JWKS_URL", "", "needs an issuer, a JWKS URL and an audience"),
        ("EXTERNAL_JWT_JWKS_URL", "http://idp.example/jwks", "must be an https URL"),
        ("EXTERNAL_JWT_ISSUERS_JSON", "{not json", "must be a JSON list"),
    ],
)
def test_a_half_or_unsafely_configured_issuer_refuses_to_start(
    env, name, value, message
):
    env.setenv("EXTERNAL_JWT_ISSUER", ISSUER)
    env.setenv("EXTERNAL_JWT_JWKS_URL", f"{ISSUER}.well-known/jwks.json")
    env.setenv("EXTERNAL_JWT_AUDIENCE", AUDIENCE)
    env.setenv(name, value)

    with pytest.raises(ImproperlyConfigured, match=message):
        external_jwt_issuers_from_env(is_production=True)


# --- Concurrency --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_tokens_create_one_account(live_server, issuers, keys):
    if connection.vendor != "postgresql":
        pytest.skip("needs a database that serves concurrent connections (PostgreSQL)")
    token = keys["ES256"].sign(claims())
    barrier = threading.Barrier(4)
    answers: list[tuple[int, str]] = []

    def first_request() -> None:
        barrier.wait()
        status, body = exchange_json("GET", f"{live_server.url}{ME}", bearer=token)
        answers.append((status, body["code"]))

    threads = [threading.Thread(target=first_request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert answers == [(HTTPStatus.FORBIDDEN, "approval_pending")] * 4
    assert User.objects.count() == ExternalIdentity.objects.count() == 1
    assert AccessRequest.objects.count() == 1
    assert ActivityLog.objects.filter(action=ActivityLog.Action.SIGNED_UP).count() == 1


# --- Audit: the entry each step leaves, holding no secret ----------------------


@pytest.mark.django_db
def test_a_first_external_token_is_audited_as_a_sign_up_without_the_token(
    issuers, keys
):
    token = keys["RS256"].sign(claims())

    get_me(token)
    entry = only_entry(ActivityLog.Action.SIGNED_UP)

    assert_about(entry, User.objects.get(email=claims()["email"]))
    assert entry.metadata == {
        "method": "external",
        "issuer": ISSUER,
        "status": "pending",
    }
    assert_holds_none_of(entry, token, claims()["sub"])


@pytest.mark.django_db
def test_a_first_external_token_of_a_known_account_is_audited_as_a_sign_in(
    issuers, keys, user_factory
):
    user = user_factory(email=claims()["email"])
    token = keys["EdDSA"].sign(claims())

    response = get_me(token)
    entry = only_entry(ActivityLog.Action.SIGN_IN_SUCCEEDED)

    assert response.status_code == HTTPStatus.OK
    assert_about(entry, user)
    assert entry.metadata == {"method": "external", "issuer": ISSUER, "linked": True}
    assert_holds_none_of(entry, token)
