"""The Django admin as the approval console: listing, approving and rejecting."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from http import HTTPStatus

import pytest
from django.contrib.messages import get_messages
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.errors import LastAdminError
from accounts.models import ADMINS_GROUP, AccessRequest, ExternalIdentity, User
from conftest import DEFAULT_PASSWORD
from core.audit import Action, record_activity
from core.selectors import activity_for_user
from resources.tests.files import png_bytes, upload

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
    user_statuses: dict[str, str] = {
        AccessRequest.Status.PENDING: User.Status.PENDING,
        AccessRequest.Status.APPROVED: User.Status.APPROVED,
        AccessRequest.Status.REJECTED: User.Status.REJECTED,
    }
    user_status = user_statuses[status]
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


def _changelist_row(response, access_request: AccessRequest) -> str:
    """The changelist's table row for one request, as HTML."""
    html = response.content.decode()
    start = html.index(f'value="{access_request.pk}"')
    return html[start : html.index("</tr>", start)]


def test_changelist_shows_whether_the_email_is_verified(console, user_factory):
    verified = _pending_request(user_factory, email_verified=True)
    unverified = _pending_request(user_factory, email_verified=False)

    response = console.get(CHANGELIST)

    assert 'alt="True"' in _changelist_row(response, verified)
    assert 'alt="False"' in _changelist_row(response, unverified)


def test_changelist_shows_how_the_user_signed_up(console, user_factory):
    google = _pending_request(user_factory, auth_provider=User.AuthProvider.GOOGLE)
    password = _pending_request(user_factory)

    response = console.get(CHANGELIST)

    assert "Google" in _changelist_row(response, google)
    assert "Password" in _changelist_row(response, password)


def test_changelist_shows_the_reason_and_the_age(console, user_factory):
    access_request = _request_with(
        user_factory, status=AccessRequest.Status.PENDING, age=timedelta(days=3)
    )
    AccessRequest.objects.filter(pk=access_request.pk).update(reason="Team Atlas")

    response = console.get(CHANGELIST)

    row = _changelist_row(response, access_request)
    assert "Team Atlas" in row
    assert "3\xa0days" in row


def test_changelist_says_just_now_for_a_request_under_a_minute_old(
    console, user_factory
):
    access_request = _pending_request(user_factory)

    response = console.get(CHANGELIST)

    assert "just now" in _changelist_row(response, access_request)


def test_changelist_takes_the_same_queries_for_many_requests(console, user_factory):
    for _ in range(2):
        _pending_request(user_factory)
    with CaptureQueriesContext(connection) as few:
        assert console.get(CHANGELIST).status_code == HTTPStatus.OK
    for _ in range(10):
        _pending_request(user_factory, auth_provider=User.AuthProvider.GOOGLE)

    with CaptureQueriesContext(connection) as many:
        response = console.get(CHANGELIST)

    assert len(response.context["cl"].result_list) == 12
    assert len(many) == len(few)


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
    assert user.groups.filter(name=ADMINS_GROUP).exists()


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

    assert str(LastAdminError.default_detail) in _messages(response)
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


def test_saving_a_user_keeps_their_uploaded_avatar(console, user_factory):
    user = user_factory()
    services.user_set_avatar(user=user, upload=upload("me.png", png_bytes()))

    response = _user_change(console, user, full_name="Renamed")

    user.refresh_from_db()
    assert response.status_code == HTTPStatus.OK
    assert user.full_name == "Renamed"
    assert user.avatar_file
    assert default_storage.exists(user.avatar_file.name)


def test_user_change_page_shows_external_identities_and_saving_keeps_them(
    console, user_factory
):
    user = user_factory()
    ExternalIdentity.objects.create(
        user=user, issuer="https://idp.example/", subject="idp|42"
    )

    page = console.get(reverse("admin:accounts_user_change", args=[user.pk]))
    response = _user_change(console, user, full_name="Renamed")

    assert "idp|42" in page.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert ExternalIdentity.objects.filter(user=user, subject="idp|42").exists()


def test_user_change_page_shows_status_role_and_sign_in_method(console, user_factory):
    user = user_factory(
        status=User.Status.PENDING, auth_provider=User.AuthProvider.GOOGLE
    )

    response = console.get(reverse("admin:accounts_user_change", args=[user.pk]))

    form = response.context["adminform"].form
    assert form["status"].value() == User.Status.PENDING
    assert form["role"].value() == User.Role.USER
    html = response.content.decode()
    assert "Sign-in method" in html
    assert '<div class="readonly">Google</div>' in html
    assert 'alt="True"' in html  # the email is verified


def test_user_change_page_lists_activity_by_and_about_the_user(
    console, admin_user, user_factory
):
    user, stranger = user_factory(), user_factory()
    record_activity(action=Action.PASSWORD_CHANGED, actor=user, target=user)
    record_activity(
        action=Action.ROLE_CHANGED,
        actor=admin_user,
        target=user,
        metadata={"from": "user", "to": "admin"},
    )
    record_activity(action=Action.PASSWORD_CHANGED, actor=stranger, target=stranger)

    response = console.get(reverse("admin:accounts_user_change", args=[user.pk]))

    html = response.content.decode()
    table = html[html.index('<table id="recent-activity">') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr>") == 3  # the header and two entries
    assert "user.role_changed" in table
    assert admin_user.email in table
    assert "from: user, to: admin" in table
    assert "password.changed" in table
    assert stranger.email not in table


def test_user_change_page_shows_only_the_last_twenty_entries(console, user_factory):
    user = user_factory()
    for _ in range(25):
        record_activity(action=Action.SIGN_IN_SUCCEEDED, actor=user, target=user)

    response = console.get(reverse("admin:accounts_user_change", args=[user.pk]))

    html = response.content.decode()
    assert html.count("sign_in.succeeded") == 20
    assert activity_for_user(user_id=user.pk).count() == 25


def test_user_change_page_escapes_activity_details(console, user_factory):
    user = user_factory()
    record_activity(
        action=Action.SIGN_IN_FAILED,
        target=user,
        metadata={"reason": "<script>alert(1)</script>"},
    )

    response = console.get(reverse("admin:accounts_user_change", args=[user.pk]))

    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_user_change_page_takes_the_same_queries_for_more_activity(
    console, admin_user, user_factory
):
    user = user_factory()
    url = reverse("admin:accounts_user_change", args=[user.pk])
    record_activity(action=Action.ROLE_CHANGED, actor=admin_user, target=user)
    with CaptureQueriesContext(connection) as few:
        console.get(url)
    for actor in (user_factory() for _ in range(8)):
        record_activity(action=Action.ROLE_CHANGED, actor=actor, target=user)

    with CaptureQueriesContext(connection) as many:
        console.get(url)

    assert len(many) == len(few)


def test_user_change_page_says_when_there_is_no_activity(console, user_factory):
    user = user_factory()

    response = console.get(reverse("admin:accounts_user_change", args=[user.pk]))

    assert "No activity recorded yet." in response.content.decode()


@pytest.mark.parametrize(
    "change", [{"role": "user"}, {"status": "disabled"}, {"status": "rejected"}]
)
def test_last_active_admin_cannot_be_demoted_or_disabled(console, admin_user, change):
    response = _user_change(console, admin_user, **change)

    assert response.status_code == HTTPStatus.OK
    messages = _messages(response)
    assert str(LastAdminError.default_detail) in messages
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
    assert not other.groups.filter(name=ADMINS_GROUP).exists()


# --- Access to the console ---------------------------------------------------------


def test_non_staff_user_is_redirected_to_the_admin_login(client, approved_user):
    client.force_login(approved_user)

    response = client.get(reverse("admin:index"))

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("admin:login"))


def test_admin_index_counts_pending_requests_and_links_to_them(console, user_factory):
    _pending_request(user_factory)
    _pending_request(user_factory)
    user_factory(status=User.Status.PENDING)  # pending, but asked for nothing yet
    _request_with(
        user_factory, status=AccessRequest.Status.APPROVED, age=timedelta(days=1)
    )

    response = console.get(reverse("admin:index"))

    html = response.content.decode()
    assert '<td id="pending-count"><strong>2</strong></td>' in html
    assert f'href="{CHANGELIST}?status__exact=pending"' in html


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
