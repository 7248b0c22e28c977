"""The Django admin as the approval console: listing, approving and rejecting."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from http import HTTPStatus

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import AccessRequest, User
from conftest import DEFAULT_PASSWORD

CHANGELIST = reverse("admin:accounts_accessrequest_changelist")
LOGIN = reverse("v1:auth:login")
PASSWORD = "correct-horse-battery-staple"  # conftest's DEFAULT_PASSWORD


class _FormParser(HTMLParser):
    """Collects what a browser would submit for each <form> on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: tuple[str, list[str], list[str]] | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form = {"id": attr.get("id", ""), "fields": []}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and "name" in attr:
            kind = attr.get("type", "text")
            if kind in {"checkbox", "radio"} and "checked" not in attr:
                return
            if kind not in {"submit", "button", "image", "file", "reset"}:
                self._form["fields"].append((attr["name"], attr.get("value", "")))
        elif tag == "select" and "name" in attr:
            self._select = (attr["name"], [], [])
        elif tag == "option" and self._select is not None:
            name, options, selected = self._select
            options.append(attr.get("value", ""))
            if "selected" in attr:
                selected.append(attr.get("value", ""))
        elif tag == "textarea" and "name" in attr:
            self._textarea = attr["name"]
            self._form["fields"].append((self._textarea, ""))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None and self._form is not None:
            name, value = self._form["fields"].pop()
            self._form["fields"].append((name, value + data))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select is not None and self._form is not None:
            name, options, selected = self._select
            for value in selected or options[:1]:
                self._form["fields"].append((name, value))
            self._select = None


def _form_data(response, *, form_id: str, **overrides: str) -> dict[str, list[str]]:
    """The POST body a browser sends for the page's form, with fields filled in."""
    parser = _FormParser()
    parser.feed(response.content.decode())
    form = next(form for form in parser.forms if form["id"] == form_id)
    data: dict[str, list[str]] = {}
    for name, value in form["fields"]:
        data.setdefault(name, []).append(value)
    data.update({name: [value] for name, value in overrides.items()})
    return data


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _start_action(client, action: str, *access_requests: AccessRequest):
    """Ticks the requests in the changelist, picks the action and presses Go."""
    return client.post(
        CHANGELIST,
        {
            "action": action,
            "select_across": "0",
            "index": "0",
            "_selected_action": [str(item.pk) for item in access_requests],
        },
    )


def _decide(client, action: str, *access_requests: AccessRequest, **fields: str):
    """Runs the action and submits its confirmation page with the given fields."""
    confirmation = _start_action(client, action, *access_requests)
    data = _form_data(confirmation, form_id="decision-form", **fields)
    return client.post(CHANGELIST, data, follow=True)


def _pending_request(user_factory, **user_fields) -> AccessRequest:
    user = user_factory(status=User.Status.PENDING, **user_fields)
    return services.access_request_open(user=user, reason="I work here")


def _request_with(user_factory, *, status: str, age: timedelta) -> AccessRequest:
    user_status = {
        AccessRequest.Status.PENDING: User.Status.PENDING,
        AccessRequest.Status.APPROVED: User.Status.APPROVED,
        AccessRequest.Status.REJECTED: User.Status.REJECTED,
    }[status]
    return AccessRequest.objects.create(
        user=user_factory(status=user_status),
        status=status,
        created_at=timezone.now() - age,
    )


@pytest.fixture
def console(client, admin_user):
    client.force_login(admin_user)
    return client


# --- The changelist -----------------------------------------------------------


def test_changelist_lists_pending_requests_first_newest_first(console, user_factory):
    old_pending = _request_with(
        user_factory, status=AccessRequest.Status.PENDING, age=timedelta(days=9)
    )
    new_approved = _request_with(
        user_factory, status=AccessRequest.Status.APPROVED, age=timedelta(days=1)
    )
    newest_rejected = _request_with(
        user_factory, status=AccessRequest.Status.REJECTED, age=timedelta(hours=1)
    )
    new_pending = _request_with(
        user_factory, status=AccessRequest.Status.PENDING, age=timedelta(days=2)
    )

    response = console.get(CHANGELIST)

    assert response.status_code == HTTPStatus.OK
    assert list(response.context["cl"].result_list) == [
        new_pending,
        old_pending,
        newest_rejected,
        new_approved,
    ]


def test_changelist_shows_the_users_email_and_name(console, user_factory):
    _pending_request(user_factory, email="grace@example.com", full_name="Grace Hopper")

    response = console.get(CHANGELIST)

    assert response.status_code == HTTPStatus.OK
    assert "grace@example.com" in response.content.decode()
    assert "Grace Hopper" in response.content.decode()


def test_changelist_filters_by_status(console, user_factory):
    pending = _request_with(
        user_factory, status=AccessRequest.Status.PENDING, age=timedelta(days=1)
    )
    _request_with(
        user_factory, status=AccessRequest.Status.APPROVED, age=timedelta(days=1)
    )
    _request_with(
        user_factory, status=AccessRequest.Status.REJECTED, age=timedelta(days=1)
    )

    response = console.get(CHANGELIST, {"status__exact": "pending"})

    assert response.status_code == HTTPStatus.OK
    assert list(response.context["cl"].result_list) == [pending]


def test_access_request_change_page_shows_the_user(console, user_factory):
    access_request = _pending_request(
        user_factory, email="grace@example.com", full_name="Grace Hopper"
    )

    response = console.get(
        reverse("admin:accounts_accessrequest_change", args=[access_request.pk])
    )

    assert response.status_code == HTTPStatus.OK
    assert "Grace Hopper &lt;grace@example.com&gt;" in response.content.decode()


# --- Approving ------------------------------------------------------------------


def test_approve_action_asks_for_confirmation_naming_the_user(console, user_factory):
    access_request = _pending_request(user_factory, email="grace@example.com")

    response = _start_action(console, "approve_requests", access_request)

    assert response.status_code == HTTPStatus.OK
    assert "admin/accounts/accessrequest/decide.html" in [
        template.name for template in response.templates
    ]
    assert "grace@example.com" in response.content.decode()
    access_request.refresh_from_db()
    assert access_request.status == AccessRequest.Status.PENDING


def test_confirmation_page_cancel_link_returns_to_the_filtered_changelist(
    console, user_factory
):
    access_request = _pending_request(user_factory)

    response = console.post(
        f"{CHANGELIST}?status__exact=pending",
        {
            "action": "approve_requests",
            "index": "0",
            "_selected_action": [str(access_request.pk)],
        },
    )

    assert f'href="{CHANGELIST}?status__exact=pending"' in response.content.decode()


def test_confirming_approval_approves_the_user_and_the_request(
    console, admin_user, user_factory, django_capture_on_commit_callbacks
):
    access_request = _pending_request(user_factory)

    with django_capture_on_commit_callbacks(execute=True):
        response = _decide(
            console, "approve_requests", access_request, note="Welcome aboard"
        )

    assert response.status_code == HTTPStatus.OK
    assert "1 request(s) approved." in _messages(response)
    access_request.refresh_from_db()
    assert access_request.status == AccessRequest.Status.APPROVED
    assert access_request.decided_by == admin_user
    assert access_request.decided_at is not None
    assert access_request.note == "Welcome aboard"
    assert access_request.user.status == User.Status.APPROVED
    assert access_request.user.role == User.Role.USER


def test_confirming_approval_emails_the_user_once_with_the_note(
    console, user_factory, mailoutbox, django_capture_on_commit_callbacks
):
    access_request = _pending_request(user_factory, email="grace@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        _decide(console, "approve_requests", access_request, note="Welcome aboard")

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["grace@example.com"]
    assert "Welcome aboard" in mailoutbox[0].body


def test_approving_with_admin_role_makes_the_user_an_admin(
    console, user_factory, django_capture_on_commit_callbacks
):
    access_request = _pending_request(user_factory)

    with django_capture_on_commit_callbacks(execute=True):
        _decide(console, "approve_requests", access_request, role="admin")

    user = User.objects.get(pk=access_request.user_id)
    assert user.status == User.Status.APPROVED
    assert user.role == User.Role.ADMIN
    assert user.is_staff
    assert user.is_superuser
    assert user.groups.filter(name=services.ADMINS_GROUP).exists()


def test_approving_an_approved_request_changes_nothing(
    console, admin_user, user_factory, mailoutbox, django_capture_on_commit_callbacks
):
    access_request = _pending_request(user_factory)
    services.access_request_approve(
        access_request=access_request, decided_by=admin_user, note="First time"
    )
    access_request.refresh_from_db()
    decided_at = access_request.decided_at

    with django_capture_on_commit_callbacks(execute=True):
        response = _decide(
            console, "approve_requests", access_request, note="Second time"
        )

    assert "1 request(s) already approved; left unchanged." in _messages(response)
    access_request.refresh_from_db()
    assert access_request.decided_at == decided_at
    assert access_request.note == "First time"
    assert mailoutbox == []


def test_approved_user_can_then_sign_in_through_the_api(
    console, api_client, user_factory, django_capture_on_commit_callbacks
):
    access_request = _pending_request(user_factory)
    with django_capture_on_commit_callbacks(execute=True):
        _decide(console, "approve_requests", access_request)

    response = api_client.post(
        LOGIN,
        {"email": access_request.user.email, "password": PASSWORD},
        format="json",
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["access"]
    assert response.json()["refresh"]


# --- Rejecting -------------------------------------------------------------------


def test_reject_confirmation_page_asks_for_a_note_but_no_role(console, user_factory):
    access_request = _pending_request(user_factory)

    response = _start_action(console, "reject_requests", access_request)

    data = _form_data(response, form_id="decision-form")
    assert "note" in data
    assert "role" not in data


def test_bulk_reject_rejects_both_users(
    console, user_factory, django_capture_on_commit_callbacks
):
    first, second = _pending_request(user_factory), _pending_request(user_factory)

    with django_capture_on_commit_callbacks(execute=True):
        response = _decide(
            console, "reject_requests", first, second, note="Not this time"
        )

    assert "2 request(s) rejected." in _messages(response)
    for access_request in (first, second):
        access_request.refresh_from_db()
        assert access_request.status == AccessRequest.Status.REJECTED
        assert access_request.note == "Not this time"
        assert access_request.user.status == User.Status.REJECTED


def test_bulk_reject_emails_each_user_the_note(
    console, user_factory, mailoutbox, django_capture_on_commit_callbacks
):
    first = _pending_request(user_factory, email="first@example.com")
    second = _pending_request(user_factory, email="second@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        _decide(console, "reject_requests", first, second, note="Not this time")

    assert sorted(message.to[0] for message in mailoutbox) == [
        "first@example.com",
        "second@example.com",
    ]
    assert all("Not this time" in message.body for message in mailoutbox)


def test_rejected_user_is_refused_sign_in_through_the_api(
    console, api_client, user_factory, django_capture_on_commit_callbacks
):
    access_request = _pending_request(user_factory)
    with django_capture_on_commit_callbacks(execute=True):
        _decide(console, "reject_requests", access_request)

    response = api_client.post(
        LOGIN,
        {"email": access_request.user.email, "password": PASSWORD},
        format="json",
    )

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "access_rejected"


def test_rejecting_the_last_admins_request_is_refused_with_an_error(
    console, admin_user, django_capture_on_commit_callbacks
):
    access_request = AccessRequest.objects.create(
        user=admin_user, status=AccessRequest.Status.APPROVED
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = _decide(console, "reject_requests", access_request)

    assert str(services.LastAdminError.default_detail) in _messages(response)
    assert "0 request(s) rejected." not in _messages(response)
    admin_user.refresh_from_db()
    assert admin_user.status == User.Status.APPROVED


# --- Users -----------------------------------------------------------------------


def _user_change(client, user: User, **fields: str):
    url = reverse("admin:accounts_user_change", args=[user.pk])
    data = _form_data(client.get(url), form_id="user_form", **fields)
    return client.post(url, data, follow=True)


def test_user_change_page_shows_the_user(console, pending_user):
    response = console.get(
        reverse("admin:accounts_user_change", args=[pending_user.pk])
    )

    assert response.status_code == HTTPStatus.OK
    assert pending_user.email in response.content.decode()


@pytest.mark.parametrize(
    "change", [{"role": "user"}, {"status": "disabled"}, {"status": "rejected"}]
)
def test_last_active_admin_cannot_be_demoted_or_disabled(console, admin_user, change):
    response = _user_change(console, admin_user, **change)

    assert response.status_code == HTTPStatus.OK
    messages = _messages(response)
    assert str(services.LastAdminError.default_detail) in messages
    assert not any("changed successfully" in message for message in messages)
    admin_user.refresh_from_db()
    assert admin_user.role == User.Role.ADMIN
    assert admin_user.status == User.Status.APPROVED
    assert admin_user.is_staff
    assert admin_user.is_superuser


def test_refused_demotion_keeps_the_other_edits_unsaved(console, admin_user):
    _user_change(console, admin_user, role="user", full_name="Renamed")

    admin_user.refresh_from_db()
    assert admin_user.full_name == "Ada Admin"


def test_an_admin_can_be_demoted_while_another_remains(
    console, admin_user, user_factory
):
    other = user_factory(role=User.Role.ADMIN)

    response = _user_change(console, other, role="user")

    assert any("changed successfully" in message for message in _messages(response))
    other.refresh_from_db()
    assert other.role == User.Role.USER
    assert not other.is_staff
    assert not other.groups.filter(name=services.ADMINS_GROUP).exists()


# --- Access to the console ---------------------------------------------------------


def test_non_staff_user_is_redirected_to_the_admin_login(client, approved_user):
    client.force_login(approved_user)

    response = client.get(reverse("admin:index"))

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("admin:login"))


def test_admin_index_is_titled_gatehouse(console):
    response = console.get(reverse("admin:index"))

    assert response.status_code == HTTPStatus.OK
    assert "Gatehouse" in response.context["site_header"]
    assert "Gatehouse" in response.context["site_title"]
    assert "Gatehouse" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("status", [User.Status.REJECTED, User.Status.PENDING])
def test_an_unapproved_admin_cannot_sign_in_to_the_admin_with_a_password(
    client, user_factory, status
):
    user_factory(email="former@example.com", role=User.Role.ADMIN, status=status)

    client.post(
        "/admin/login/?next=/admin/",
        {"username": "former@example.com", "password": DEFAULT_PASSWORD},
    )

    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == HTTPStatus.FOUND


@pytest.mark.django_db
def test_rejecting_an_admin_ends_their_admin_session(client, admin_user, user_factory):
    other = user_factory(role=User.Role.ADMIN)
    client.force_login(other)
    assert client.get("/admin/").status_code == HTTPStatus.OK

    services.user_update(user=other, status=User.Status.REJECTED)

    assert client.get("/admin/").status_code == HTTPStatus.FOUND
