"""Issue 17's "the throttles hold across two server processes sharing Redis".

Two real web servers (config/serve.py), A and B, share one database and one Redis (the cache
that holds mfa tokens and throttle counters); requests alternate between them.
Each request comes "through a proxy" (NUM_PROXIES=1) from its own client address
unless a test is about one address, so only the counter under test can refuse.
Both servers run the throttles' clock from the start of a day (as conftest's
throttle_clock_offset does in process) and TOTP at a fixed instant, so no window
turns and no code expires mid-test.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from http import HTTPStatus
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis
from allauth.mfa.totp.internal import auth as totp_auth

from conftest import services_required
from core.tests.served_app import (
    Reply,
    clean_env,
    database_copy,
    http_request,
    manage,
)
from core.tests.web_process import web_server

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
AUTH = "/api/v1/auth"
PASSWORD = "a-long-two-process-passphrase"
NOW = 1_900_000_005.0  # the servers' TOTP clock
MFA_VERIFY_LIMIT = 6  # above the 5 wrong codes that use one mfa_token up
CODE_MAILS_PER_ADDRESS = 3
PER_ACCOUNT_LIMIT = 6
PER_IP_LIMIT = 6
MFA_USERS = (
    "mfa-once@example.com",
    "mfa-throttled@example.com",
    "mfa-dies@example.com",
)
CODE_USERS = ("code-death@example.com", "code-survives@example.com")
_addresses = itertools.count(1)

SETUP = f"""
import json
from allauth.account.models import EmailAddress
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from accounts.models import User
enrolled = {{}}
for email in {MFA_USERS + CODE_USERS!r}:
    user = User.objects.create_user(
        email=email, password={PASSWORD!r}, status=User.Status.APPROVED
    )
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    if email in {MFA_USERS!r}:
        secret = generate_totp_secret()
        TOTP.activate(user, secret)
        codes = RecoveryCodes.activate(user).generate_codes()
        enrolled[email] = {{"secret": secret, "recovery_codes": codes}}
print(json.dumps(enrolled))
"""

# Runs once the app is loaded, before the worker forks: the clocks this module's
# counts and codes are computed against.
CLOCKS = """
import time
import types

from allauth.mfa.totp.internal import auth

import core.throttling

real_time = time.time
core.throttling.time = types.SimpleNamespace(time=lambda: real_time() + {offset!r})
auth.time = types.SimpleNamespace(time=lambda: {now!r})
"""


def _redis_or_skip() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if services_required():
            raise
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")


@pytest.fixture(scope="module")
def servers(served_database_template, tmp_path_factory) -> Iterator[SimpleNamespace]:
    _redis_or_skip()
    directory = tmp_path_factory.mktemp("two-processes")
    database = database_copy(served_database_template, directory / "db")
    enrolled = json.loads(
        manage("shell", "--no-imports", "-c", SETUP, env=clean_env(database))
        .stdout.strip()
        .splitlines()[-1]
    )
    prefix, mail = f"test-{uuid.uuid4().hex}", directory / "mail"
    now = time.time()
    offset = (now // 86400 + 1) * 86400 - now
    clocks = CLOCKS.format(offset=offset, now=NOW)
    env = clean_env(
        database,
        REDIS_URL=REDIS_URL,
        CACHE_KEY_PREFIX=prefix,
        NUM_PROXIES="1",
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail),
        THROTTLE_SIGNIN_IP=f"{PER_IP_LIMIT}/hour",
        THROTTLE_SIGNIN_ACCOUNT=f"{PER_ACCOUNT_LIMIT}/hour",
        THROTTLE_LOGIN_CODE_ADDRESS=f"{CODE_MAILS_PER_ADDRESS}/hour",
        THROTTLE_MFA_VERIFY=f"{MFA_VERIFY_LIMIT}/hour",
    )
    with contextlib.ExitStack() as stack:
        a, b = (
            stack.enter_context(
                web_server(
                    tmp_path_factory.mktemp(name), env=env, before_serving=clocks
                )
            )
            for name in ("server-a", "server-b")
        )
        yield SimpleNamespace(a=a, b=b, enrolled=enrolled, mail=mail)
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)


def post(server, path: str, body: dict, *, ip: str | None = None) -> Reply:
    """A POST to the server, forwarded for `ip` (by default a new address)."""
    port = int(server.url.rsplit(":", 1)[1])
    n = next(_addresses)
    forwarded = ip or f"10.17.{n // 250}.{n % 250 + 1}"
    return http_request(
        port,
        "POST",
        f"{AUTH}/{path}",
        json_body=body,
        headers={"X-Forwarded-For": forwarded},
    )


def statuses(replies: list[Reply]) -> list[int]:
    return [reply.status for reply in replies]


def mfa_token(server, email: str) -> str:
    reply = post(server, "login/", {"email": email, "password": PASSWORD})
    assert reply.status == HTTPStatus.UNAUTHORIZED, reply.body
    assert reply.json()["code"] == "mfa_required"
    return reply.json()["mfa_token"]


def totp_now(secret: str) -> str:
    counter = int(NOW) // 30
    return totp_auth.format_hotp_value(totp_auth.hotp_value(secret, counter))


def mailed_code(mail: Path, email: str) -> str:
    """The code in the newest mail to `email` that either server wrote."""
    for path in sorted(mail.glob("*.log"), key=lambda p: p.stat().st_mtime_ns)[::-1]:
        for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            message = message_from_bytes(raw.strip())
            if message["To"] == email:
                text = next(
                    p for p in message.walk() if p.get_content_type() == "text/plain"
                )
                payload = text.get_payload(decode=True)
                assert isinstance(payload, bytes)
                found = re.search(r"is:\n\n(\S+)\n", payload.decode())
                assert found, payload
                return found.group(1)
    raise AssertionError(f"no mail to {email} in {mail}")


# --- (a) an mfa_token issued by one process is good, once, on the other -----------


def test_an_mfa_token_from_one_process_signs_in_on_the_other_once(servers):
    email = MFA_USERS[0]
    enrolled = servers.enrolled[email]
    token = mfa_token(servers.a, email)

    verified = post(
        servers.b,
        "mfa/verify/",
        {"mfa_token": token, "code": totp_now(enrolled["secret"])},
    )
    again = post(
        servers.a,
        "mfa/verify/",
        {"mfa_token": token, "code": enrolled["recovery_codes"][0]},
    )

    assert verified.status == HTTPStatus.OK, verified.body
    assert verified.json()["user"]["email"] == email
    me = http_request(
        int(servers.a.url.rsplit(":", 1)[1]),
        "GET",
        f"{AUTH}/me/",
        bearer=verified.json()["access"],
    )
    assert me.status == HTTPStatus.OK
    assert again.status == HTTPStatus.BAD_REQUEST
    assert again.json()["code"] == "invalid_code"


# --- (b) wrong second factors count on one per-user counter ----------------------


def test_wrong_second_factors_are_counted_across_processes_and_tokens(servers):
    email = MFA_USERS[1]
    tokens = [mfa_token(servers.a, email), mfa_token(servers.b, email)]
    # Each token on each server, three wrong codes per token: under the five that
    # would use one up, and six in all.
    plan = [(servers.a, 0), (servers.b, 1), (servers.b, 0), (servers.a, 1)] * 2
    wrong = [
        post(server, "mfa/verify/", {"mfa_token": tokens[i], "code": "000000"})
        for server, i in plan[:MFA_VERIFY_LIMIT]
    ]
    right = servers.enrolled[email]["recovery_codes"][0]

    on_a = post(servers.a, "mfa/verify/", {"mfa_token": tokens[0], "code": right})
    on_b = post(servers.b, "mfa/verify/", {"mfa_token": tokens[1], "code": right})

    assert statuses(wrong) == [HTTPStatus.BAD_REQUEST] * MFA_VERIFY_LIMIT
    assert on_a.status == HTTPStatus.TOO_MANY_REQUESTS
    assert on_b.status == HTTPStatus.TOO_MANY_REQUESTS
    assert on_b.json()["code"] == "throttled"


def test_five_wrong_codes_on_either_process_use_the_mfa_token_up(servers):
    email = MFA_USERS[2]
    token = mfa_token(servers.a, email)
    wrong = [
        post(server, "mfa/verify/", {"mfa_token": token, "code": "000000"})
        for server in [servers.a, servers.b, servers.a, servers.b, servers.a]
    ]
    right = servers.enrolled[email]["recovery_codes"][0]

    response = post(servers.b, "mfa/verify/", {"mfa_token": token, "code": right})

    assert statuses(wrong) == [HTTPStatus.BAD_REQUEST] * 5
    assert response.status == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid_code"


# --- (c) emailed codes: per address, per IP, and three wrong tries ---------------


def test_code_mails_per_address_are_counted_across_processes(servers):
    email = f"mails-{uuid.uuid4().hex[:8]}@example.com"
    sent = [
        post(server, "code/request/", {"email": email})
        for server in [servers.a, servers.b, servers.a][:CODE_MAILS_PER_ADDRESS]
    ]

    on_b = post(servers.b, "code/request/", {"email": email})
    on_a = post(servers.a, "code/request/", {"email": email})

    assert statuses(sent) == [HTTPStatus.ACCEPTED] * CODE_MAILS_PER_ADDRESS
    assert (on_b.status, on_a.status) == (HTTPStatus.TOO_MANY_REQUESTS,) * 2


def test_code_confirms_per_address_are_counted_across_processes(servers):
    email = f"confirms-{uuid.uuid4().hex[:8]}@example.com"
    tries = [
        post(server, "code/confirm/", {"email": email, "code": "ZZZZ-ZZZZ"})
        for server in [servers.a, servers.b] * (PER_ACCOUNT_LIMIT // 2)
    ]

    on_a = post(servers.a, "code/confirm/", {"email": email, "code": "ZZZZ-ZZZZ"})
    on_b = post(servers.b, "code/confirm/", {"email": email, "code": "ZZZZ-ZZZZ"})

    assert statuses(tries) == [HTTPStatus.BAD_REQUEST] * PER_ACCOUNT_LIMIT
    assert (on_a.status, on_b.status) == (HTTPStatus.TOO_MANY_REQUESTS,) * 2


def test_code_requests_per_ip_are_counted_across_processes(servers):
    ip = "192.0.2.17"
    sent = [
        post(server, "code/request/", {"email": f"ip{i}@example.com"}, ip=ip)
        for i, server in enumerate([servers.a, servers.b] * (PER_IP_LIMIT // 2))
    ]

    on_b = post(servers.b, "code/request/", {"email": "ip-b@example.com"}, ip=ip)
    on_a = post(servers.a, "code/request/", {"email": "ip-a@example.com"}, ip=ip)
    elsewhere = post(servers.a, "code/request/", {"email": "ip-a@example.com"})

    assert statuses(sent) == [HTTPStatus.ACCEPTED] * PER_IP_LIMIT
    assert (on_b.status, on_a.status) == (HTTPStatus.TOO_MANY_REQUESTS,) * 2
    assert elsewhere.status == HTTPStatus.ACCEPTED


def test_three_wrong_tries_on_either_process_kill_the_code(servers):
    email = CODE_USERS[0]
    assert (
        post(servers.a, "code/request/", {"email": email}).status == HTTPStatus.ACCEPTED
    )
    code = mailed_code(servers.mail, email)
    wrong = [
        post(server, "code/confirm/", {"email": email, "code": "ZZZZ-ZZZZ"})
        for server in (servers.b, servers.a, servers.b)
    ]

    right = post(servers.a, "code/confirm/", {"email": email, "code": code})

    assert statuses(wrong) == [HTTPStatus.BAD_REQUEST] * 3
    assert right.status == HTTPStatus.BAD_REQUEST
    assert right.json()["code"] == "invalid_code"


def test_two_wrong_tries_on_one_process_leave_the_code_good_on_the_other(servers):
    email = CODE_USERS[1]
    assert (
        post(servers.b, "code/request/", {"email": email}).status == HTTPStatus.ACCEPTED
    )
    code = mailed_code(servers.mail, email)
    for _ in range(2):
        post(servers.a, "code/confirm/", {"email": email, "code": "ZZZZ-ZZZZ"})

    right = post(servers.b, "code/confirm/", {"email": email, "code": code})

    assert right.status == HTTPStatus.OK, right.body
    assert right.json()["user"]["email"] == email
