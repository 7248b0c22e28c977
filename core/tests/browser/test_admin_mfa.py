"""The admin's two-factor sign-in in a real browser: the code page after the
password, and enrolment first under MFA_REQUIRED_FOR_ADMINS. The live server runs
in this process, so allauth's TOTP check reads the frozen clock of totp_clock.py."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts import mfa
from accounts.models import User
from accounts.tests.totp_clock import code_at, frozen_totp_clock  # noqa: F401
from conftest import DEFAULT_PASSWORD
from core.models import ActivityLog
from core.tests.browser.test_content_security_policy import RECORD_VIOLATIONS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ada(user_factory) -> User:
    return user_factory(
        email="ada@example.com", role=User.Role.ADMIN, full_name="Ada Admin"
    )


@pytest.fixture
def watched(page):
    page.add_init_script(RECORD_VIOLATIONS)
    return page


def _password_step(page, admin: User, path: str = "/admin/") -> None:
    page.goto(path)
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


def test_admin_with_totp_enters_a_code_after_the_password(watched, ada):
    page = watched
    secret = mfa.totp_start(user=ada)["secret"]
    mfa.totp_confirm(user=ada, code=code_at(secret))

    _password_step(page, ada, "/admin/accounts/user/")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    expect(page.locator("#site-name")).to_contain_text("Gatehouse administration")
    code = page.get_by_placeholder("Code")
    code.fill(code_at(secret, steps_ago=4))
    page.get_by_role("button", name="Sign In").click()
    expect(page.locator(".errorlist")).to_contain_text("Incorrect code")
    code.fill(code_at(secret))
    page.get_by_role("button", name="Sign In").click()

    expect(page).to_have_url(re.compile(r"/admin/accounts/user/$"))
    expect(page.locator("#result_list")).to_contain_text("ada@example.com")
    assert _violations(page) == []


def test_admin_without_mfa_enrols_before_the_admin_opens(watched, ada, settings):
    page = watched
    settings.MFA_REQUIRED_FOR_ADMINS = True

    _password_step(page, ada)
    # allauth asks for the password again before a second factor is added.
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/"))
    page.goto("/admin/accounts/user/")
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/"))
    expect(page.locator(".messagelist")).to_contain_text("two factors")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/$"))
    secret = page.locator("#authenticator_secret").input_value()
    page.get_by_label("Authenticator code").fill(code_at(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/recovery-codes/$"))
    page.get_by_role("link", name="Home").click()

    expect(page.locator("#site-name")).to_contain_text("Gatehouse")
    expect(page.locator("#pending-count")).to_be_visible()
    assert mfa.user_has_mfa(ada)
    assert _violations(page) == []


def test_admin_adds_a_passkey_and_signs_in_with_it_as_the_second_factor(watched, ada):
    page = watched
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    _password_step(page, ada)
    expect(page.locator("#site-name")).to_contain_text("Gatehouse")
    page.goto("/accounts/2fa/webauthn/add/")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/webauthn/add/$"))
    page.get_by_label("Name").fill("Virtual key")
    page.get_by_role("button", name="Add").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/recovery-codes/$"))
    page.goto("/admin/")
    page.get_by_role("button", name="Log out").click()

    _password_step(page, ada)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    page.get_by_role("button", name="Use a security key").click()

    expect(page.locator("#pending-count")).to_be_visible()
    assert _violations(page) == []
    added = ActivityLog.objects.get(action=ActivityLog.Action.MFA_ENABLED)
    assert added.metadata == {"type": "webauthn", "via": "web"}
    signed_in = ActivityLog.objects.filter(
        action=ActivityLog.Action.SIGN_IN_SUCCEEDED
    ).latest("id")
    assert signed_in.metadata == {"method": "password+mfa", "via": "web"}
