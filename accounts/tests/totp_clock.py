"""A fixed clock for allauth's TOTP check, and codes computed against it.

Import `frozen_totp_clock` into a test module to make it autouse there.
"""

from __future__ import annotations

import types

import pytest
from allauth.mfa.totp.internal import auth as totp_auth

# A code computed here never straddles a 30-second step.
NOW = 1_900_000_005.0


@pytest.fixture(autouse=True)
def frozen_totp_clock(monkeypatch):
    monkeypatch.setattr(totp_auth, "time", types.SimpleNamespace(time=lambda: NOW))


def code_at(secret: str, *, steps_ago: int = 0) -> str:
    counter = int(NOW) // 30 - steps_ago
    return totp_auth.format_hotp_value(totp_auth.hotp_value(secret, counter))
