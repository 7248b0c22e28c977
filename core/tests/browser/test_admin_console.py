"""The approval console in a real browser: sign in, approve with a note, bulk reject."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from playwright.sync_api import expect

from accounts import services
from accounts.models import AccessRequest, User
from conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ada(user_factory) -> User:
    return user_factory(
        email="ada@example.com", role=User.Role.ADMIN, full_name="Ada Admin"
    )


def _request_access(user_factory, *, email: str, full_name: str, reason: str):
    user = user_factory(email=email, full_name=full_name, status=User.Status.PENDING)
    return services.access_request_open(user=user, reason=reason)


def _sign_in_to_the_console(page, admin: User) -> None:
    page.goto("/admin/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#site-name")).to_contain_text("Gatehouse")


def _open_pending_requests(page) -> None:
    page.get_by_role("link", name="Pending access requests").click()
    expect(page.locator("#result_list")).to_be_visible()


def _tick(page, email: str) -> None:
    page.locator("#result_list tbody tr").filter(has_text=email).get_by_role(
        "checkbox"
    ).check()


def test_admin_approves_a_request_with_a_note_and_the_user_can_then_sign_in(
    page, ada, user_factory, mailoutbox
):
    grace_request = _request_access(
        user_factory,
        email="grace@example.com",
        full_name="Grace Hopper",
        reason="Compiler team",
    )
    _sign_in_to_the_console(page, ada)
    expect(page.locator("#pending-count")).to_have_text("1")

    _open_pending_requests(page)
    row = page.locator("#result_list tbody tr").filter(has_text="grace@example.com")
    expect(row).to_contain_text("Grace Hopper")
    expect(row).to_contain_text("Compiler team")
    _tick(page, "grace@example.com")
    page.locator("select[name=action]").select_option(
        label="Approve selected requests…"
    )
    page.get_by_role("button", name="Go").click()
    expect(page.locator("#decision-form")).to_contain_text(
        "You are about to approve 1 access request(s)"
    )
    expect(page.locator("#decision-form")).to_contain_text("grace@example.com")
    page.get_by_label("Note").fill("Welcome aboard, Grace")
    page.get_by_role("button", name="Yes, approve").click()

    expect(page.locator(".messagelist")).to_contain_text("1 request(s) approved.")
    grace_request.refresh_from_db()
    assert grace_request.status == AccessRequest.Status.APPROVED
    assert grace_request.note == "Welcome aboard, Grace"
    assert grace_request.decided_by == ada
    approval = [mail for mail in mailoutbox if mail.to == ["grace@example.com"]]
    assert len(approval) == 1
    assert "Welcome aboard, Grace" in approval[0].body
    login = page.request.post(
        "/api/v1/auth/login/",
        data={"email": "grace@example.com", "password": DEFAULT_PASSWORD},
    )
    assert login.status == HTTPStatus.OK
    assert login.json()["user"]["status"] == "approved"


def test_admin_rejects_two_requests_at_once(page, ada, user_factory):
    first = _request_access(
        user_factory, email="mallory@example.com", full_name="Mallory", reason="?"
    )
    second = _request_access(
        user_factory, email="trudy@example.com", full_name="Trudy", reason="Let me in"
    )
    keep = _request_access(
        user_factory, email="bob@example.com", full_name="Bob", reason="Team B"
    )
    _sign_in_to_the_console(page, ada)
    _open_pending_requests(page)

    _tick(page, "mallory@example.com")
    _tick(page, "trudy@example.com")
    page.locator("select[name=action]").select_option(label="Reject selected requests…")
    page.get_by_role("button", name="Go").click()
    form = page.locator("#decision-form")
    expect(form).to_contain_text("You are about to reject 2 access request(s)")
    expect(form).to_contain_text("mallory@example.com")
    expect(form).to_contain_text("trudy@example.com")
    expect(form).not_to_contain_text("bob@example.com")
    expect(form.get_by_label("Role")).to_have_count(0)
    form.get_by_label("Note").fill("Not this time")
    form.get_by_role("button", name="Yes, reject").click()

    expect(page.locator(".messagelist")).to_contain_text("2 request(s) rejected.")
    for access_request in (first, second):
        access_request.refresh_from_db()
        assert access_request.status == AccessRequest.Status.REJECTED
        assert access_request.note == "Not this time"
        assert access_request.user.status == User.Status.REJECTED
    keep.refresh_from_db()
    assert keep.status == AccessRequest.Status.PENDING
    login = page.request.post(
        "/api/v1/auth/login/",
        data={"email": "trudy@example.com", "password": DEFAULT_PASSWORD},
    )
    assert login.status == HTTPStatus.FORBIDDEN
    assert login.json()["code"] == "access_rejected"
