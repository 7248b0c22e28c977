"""Account rules: users, sign-up, roles and status, password changes, access requests.

Sessions and tokens are in accounts.sessions, Google sign-in in accounts.google,
emailed sign-in codes in accounts.login_codes.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import Any

from allauth.account.models import EmailAddress, get_emailconfirmation_model
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts import tasks
from accounts.errors import (
    AccessRejected,
    AccountDisabled,
    ApprovalPending,
    EmailTaken,
    InvalidCode,
    InvalidInput,
    LastAdminError,
    SignupClosed,
)
from accounts.groups import user_set_groups
from accounts.invitations import invited_user
from accounts.login_codes import login_code_use
from accounts.models import (
    AccessRequest,
    LoginCode,
    User,
    normalize_email,
    verified_addresses,
)
from accounts.sessions import session_start, sessions_end_all
from accounts.signals import user_data_delete
from core.audit import Action, activity_anonymise, record_activity
from core.errors import ApiError
from core.file_types import IMAGE_TYPES
from core.files import file_remove_now, file_store, files_delete_on_commit
from core.models import ActivityLog
from core.uploads import validate_upload

# Hashing a throwaway password for unknown emails makes a miss cost as much as a hit.
_TIMING_DUMMY_PASSWORD = "gatehouse-timing-equaliser"  # noqa: S105


# --- Users ----------------------------------------------------------------------


def _password_checked(*, password: str, user: User, field: str = "password") -> str:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(field, list(exc.messages)) from exc
    return password


def user_create_admin(*, email: str, password: str | None, **fields: Any) -> User:
    """Creates an approved admin with a confirmed email (seed data; the model's rule)."""
    return User.objects.create_superuser(email=email, password=password, **fields)


def _ensure_an_admin_remains(*, user: User, new_role: str, new_status: str) -> None:
    if new_role == User.Role.ADMIN and new_status == User.Status.APPROVED:
        return
    # Locks every active admin row, in primary-key order so that two admins
    # demoting each other queue instead of deadlocking. The second one then sees
    # the first's change and is refused. SQLite's IMMEDIATE transactions already
    # run one writer at a time.
    admins = User.objects.active_admins().order_by("pk").select_for_update()
    admin_pks = list(admins.values_list("pk", flat=True))
    if user.pk in admin_pks and len(admin_pks) <= 1:
        raise LastAdminError()


@transaction.atomic
def user_update(
    *,
    user: User,
    role: str | None = None,
    status: str | None = None,
    full_name: str | None = None,
    groups: Iterable[Group] | None = None,
    updated_by: User | None = None,
) -> User:
    """Admin edit of a user; refuses to leave the site without an active admin."""
    current = User.objects.get(pk=user.pk)
    _ensure_an_admin_remains(
        user=current,
        new_role=role or current.role,
        new_status=status or current.status,
    )
    user = User.objects.select_for_update().get(pk=user.pk)
    new_role = role or user.role
    new_status = status or user.status
    if full_name is not None and full_name != user.full_name:
        user.full_name = full_name
        user.save(update_fields=["full_name"])
    if new_status != user.status:
        _user_change_status(user=user, status=new_status, changed_by=updated_by)
    if new_role != user.role:
        user.set_role(new_role, actor=updated_by)
    if groups is not None:
        user_set_groups(user=user, groups=groups, actor=updated_by)
    return user


def _user_change_status(*, user: User, status: str, changed_by: User | None) -> None:
    # Approving or rejecting a user decides their open request too, so the
    # console never shows a pending request for a user who is already decided.
    pending = AccessRequest.objects.filter(
        user=user, status=AccessRequest.Status.PENDING
    ).first()
    if pending and status == User.Status.APPROVED:
        access_request_approve(access_request=pending, decided_by=changed_by)
    elif pending and status == User.Status.REJECTED:
        access_request_reject(access_request=pending, decided_by=changed_by)
    else:
        user_set_status(user=user, status=status, actor=changed_by)
    user.status = status


def user_set_status(*, user: User, status: str, actor: User | None = None) -> User:
    previous, user.status = user.status, status
    user.save(update_fields=["status"])
    if previous != status:
        record_activity(
            action=Action.STATUS_CHANGED,
            actor=actor,
            target=user,
            metadata={"from": previous, "to": status},
        )
    if status != User.Status.APPROVED:
        sessions_end_all(user=user, reason=f"user_{status}")
    return user


@transaction.atomic
def user_update_profile(*, user: User, **fields: Any) -> User:
    allowed = {
        key: value
        for key, value in fields.items()
        if key in {"full_name", "avatar_url"}
    }
    if "avatar_url" in allowed and user.avatar_file and user.avatar_file.name:
        if _links_to_stored_file(allowed["avatar_url"], user.avatar_file.name):
            # The signed link read from GET me, sent back: the upload stays.
            del allowed["avatar_url"]
        else:
            # A new avatar URL replaces the uploaded image, which would otherwise linger.
            files_delete_on_commit([user.avatar_file.name])
            allowed["avatar_file"] = ""
    for key, value in allowed.items():
        setattr(user, key, value)
    if allowed:
        user.save(update_fields=list(allowed))
    return user


def _links_to_stored_file(url: str, name: str) -> bool:
    # A stored name ends in a random hex stem that only links to that file carry.
    stem = posixpath.splitext(posixpath.basename(name))[0]
    return len(stem) >= 32 and stem in url


def user_authenticate(*, email: str, password: str) -> User | None:
    """The user whose password matches, or None; as slow for unknown emails."""
    email = normalize_email(email)
    user = User.objects.filter(email=email).first()
    if user is None or not user.has_usable_password():
        make_password(_TIMING_DUMMY_PASSWORD)
        sign_in_failed(method="password", reason="invalid_credentials", email=email)
        return None
    if not user.check_password(password):
        sign_in_failed(
            method="password", reason="invalid_credentials", email=email, user=user
        )
        return None
    return user


def sign_in_failed(
    *, method: str, reason: str, email: str = "", user: User | None = None
) -> None:
    record_activity(
        action=Action.SIGN_IN_FAILED,
        actor=user,
        target=user,
        metadata={"method": method, "reason": reason, "email": email},
    )


def sign_in_succeeded_on_web(*, user: User, method: str) -> None:
    """Audits a sign-in to a web page (the admin's, allauth's): a session cookie."""
    record_activity(
        action=Action.SIGN_IN_SUCCEEDED,
        actor=user,
        target=user,
        metadata={"method": method, "via": "web"},
    )


def mfa_change_audited(*, user: User, action: str, authenticator_type: str) -> None:
    """Audits a second factor added or removed on allauth's web pages."""
    record_activity(
        action=action,
        actor=user,
        target=user,
        metadata={"type": authenticator_type, "via": "web"},
    )


def user_sign_in(*, user: User, request: HttpRequest, method: str) -> dict[str, str]:
    """Tokens for an approved user on a new session; the contract's 403 otherwise."""
    user_sign_in_allowed(user=user, method=method)
    return session_start(user=user, request=request, method=method)


def user_sign_in_allowed(*, user: User, method: str) -> None:
    """Raises (and audits) the contract's 403 for a user whose status bars sign-in."""
    errors: dict[str, type[ApiError]] = {
        User.Status.PENDING: ApprovalPending,
        User.Status.REJECTED: AccessRejected,
        User.Status.DISABLED: AccountDisabled,
    }
    if user.status in errors:
        error = errors[user.status]()
        sign_in_failed(method=method, reason=error.code, email=user.email, user=user)
        raise error


def user_proven_by_code(*, email: str, code: str) -> User:
    """The user of the address whose emailed code this is; a first code may sign up.

    The code is used up, and a new account kept, whatever the sign-in then
    answers for the user's status (user_sign_in).
    """
    email = normalize_email(email)
    with transaction.atomic():
        user = _user_proven_by_code(email=email, code=code)
        if user is None:
            sign_in_failed(
                method="code",
                reason=InvalidCode.default_code,
                email=email,
                user=User.objects.filter(email=email).first(),
            )
    if user is None:
        raise InvalidCode()
    return user


def _user_proven_by_code(*, email: str, code: str) -> User | None:
    if not login_code_use(email=email, code=code):
        return None
    user = User.objects.filter(email=email).first()
    if user is None:
        if settings.SIGNUP_MODE == "closed":  # closed since the code was sent
            return None
        try:
            with transaction.atomic():
                return _user_sign_up_by_code(email=email)
        except IntegrityError:  # a concurrent sign-up of the address won the insert
            user = User.objects.get(email=email)
    if user.password_unproven:
        _unproven_password_drop(user=user, reason="code_took_over")
    # The code was mailed to this address, so the owner has proven it.
    confirmed = EmailAddress.objects.filter(user=user, email=email).update(
        verified=True
    )
    if not confirmed:
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    return user_make_first_admin_if_listed(user=user)


def _user_sign_up_by_code(*, email: str) -> User:
    user = User(email=email, status=new_user_status())
    user.set_unusable_password()
    user.save()
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    record_activity(
        action=Action.SIGNED_UP,
        actor=user,
        target=user,
        metadata={"method": "code", "status": user.status},
    )
    # FIRST_ADMIN_EMAIL is approved just below; its request would announce nothing.
    if user.status == User.Status.PENDING and email != settings.FIRST_ADMIN_EMAIL:
        access_request_open(user=user, reason="")
    return user_make_first_admin_if_listed(user=user)


# Entries that show an admin (or the rule itself) has already decided on a user.
_DECIDED_ACTIONS = [
    Action.STATUS_CHANGED,
    Action.ROLE_CHANGED,
    Action.ACCESS_APPROVED,
    Action.ACCESS_REJECTED,
    Action.FIRST_ADMIN_APPLIED,
]


def user_join_by_proven_email(*, user: User, reason: str) -> None:
    """An identity provider proved `user.email` belongs to whoever signs in now."""
    confirmed = EmailAddress.objects.filter(user=user, email=user.email, verified=True)
    if confirmed.exists() and not user.password_unproven:
        return
    _unproven_password_drop(user=user, reason=reason)


def _unproven_password_drop(*, user: User, reason: str) -> None:
    # Whoever chose this password had not proven the address (a confirmation
    # later does not tell who chose it); the mailbox's owner just proved it, so
    # the password and its sessions are dropped.
    user.set_unusable_password()
    user.password_unproven = False
    user.save(update_fields=["password", "password_unproven"])
    sessions_end_all(user=user, reason=reason)


@transaction.atomic
def user_make_first_admin_if_listed(*, user: User) -> User:
    """Once, approves as admin the undecided user verified as FIRST_ADMIN_EMAIL."""
    if not settings.FIRST_ADMIN_EMAIL or user.email != settings.FIRST_ADMIN_EMAIL:
        return user
    if not verified_addresses(user=user, email=user.email).exists():
        return user
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_admin and user.is_approved:
        return user
    # A demotion, rejection or disabling by an admin stands; so does a change made
    # after the rule fired once.
    decided = ActivityLog.objects.filter(
        target_type="user", target_id=str(user.pk), action__in=_DECIDED_ACTIONS
    )
    if decided.exists():
        return user
    record_activity(
        action=Action.FIRST_ADMIN_APPLIED,
        target=user,
        metadata={"status": user.status, "role": user.role},
    )
    if user.status != User.Status.APPROVED:
        user.status = User.Status.APPROVED
        user.save(update_fields=["status"])
        AccessRequest.objects.filter(
            user=user, status=AccessRequest.Status.PENDING
        ).update(
            status=AccessRequest.Status.APPROVED,
            decided_at=timezone.now(),
            note="FIRST_ADMIN_EMAIL",
        )
    if not user.is_admin:
        user.set_role(User.Role.ADMIN)
    return user


def new_user_status() -> str:
    if settings.SIGNUP_MODE == "open":
        return User.Status.APPROVED
    return User.Status.PENDING


@transaction.atomic
def user_register(
    *,
    email: str,
    password: str,
    full_name: str = "",
    reason: str = "",
    request: HttpRequest | None = None,
) -> User:
    """Password sign-up: a pending user, an access request and a confirmation email."""
    if settings.SIGNUP_MODE == "closed":
        raise SignupClosed()
    email = normalize_email(email)
    if User.objects.filter(email=email).exists():
        raise EmailTaken()
    user = User(email=email, full_name=full_name, status=new_user_status())
    user.set_password(_password_checked(password=password, user=user))
    user.password_unproven = True  # until the address is verified, and beyond
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise EmailTaken() from None
    address = EmailAddress.objects.create(user=user, email=email, primary=True)
    record_activity(
        action=Action.SIGNED_UP,
        actor=user,
        target=user,
        metadata={"method": "password", "status": user.status},
    )
    if user.status == User.Status.PENDING:
        access_request_open(user=user, reason=reason)
    transaction.on_commit(lambda: address.send_confirmation(request, signup=True))
    return user


@transaction.atomic
def user_request_access(*, email: str, full_name: str = "", reason: str = "") -> None:
    """Opens (or refreshes) an access request; silent about whether the email exists."""
    if settings.SIGNUP_MODE == "closed":
        raise SignupClosed()
    email = normalize_email(email)
    user = User.objects.select_for_update().filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, full_name=full_name)
        EmailAddress.objects.create(user=user, email=email, primary=True)
    elif user.status == User.Status.APPROVED or user.status == User.Status.DISABLED:
        return
    elif user.status == User.Status.REJECTED:
        user.status = User.Status.PENDING
        user.save(update_fields=["status"])
    access_request_open(user=user, reason=reason)
    record_activity(action=Action.ACCESS_REQUESTED, target=user)


def user_change_password(
    *, user: User, old_password: str, new_password: str, keep_session_id: str | None
) -> None:
    if not user.check_password(old_password):
        raise InvalidInput("old_password", ["The current password is not correct."])
    user.set_password(
        _password_checked(password=new_password, user=user, field="new_password"),
        actor=user,
        via="api",
        keep_session_id=keep_session_id,
    )
    user.save(update_fields=["password"])


def user_reset_password(*, user: User, new_password: str) -> None:
    user.set_password(
        _password_checked(password=new_password, user=user, field="new_password"),
        actor=user,
        via="api",
        action=Action.PASSWORD_RESET,
    )
    with transaction.atomic():
        user.save(update_fields=["password"])
        # The reset link was mailed to this address, so the owner has proven it.
        EmailAddress.objects.filter(user=user, email=user.email).update(verified=True)


@transaction.atomic
def user_invite(
    *,
    email: str,
    invited_by: User,
    full_name: str = "",
    role: str = User.Role.USER,
) -> User:
    """Creates an approved user without a password and mails them an invitation."""
    email = normalize_email(email)
    if User.objects.filter(email=email).exists():
        raise EmailTaken()
    user = User(email=email, full_name=full_name, status=User.Status.APPROVED)
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise EmailTaken() from None
    EmailAddress.objects.create(user=user, email=email, primary=True)
    if role != user.role:
        user.set_role(role, actor=invited_by)
    record_activity(
        action=Action.INVITATION_SENT,
        actor=invited_by,
        target=user,
        metadata={"role": role},
    )
    user_id = str(user.pk)
    transaction.on_commit(lambda: tasks.email_invitation.enqueue(user_id))
    return user


@transaction.atomic
def invitation_accept(
    *, uid: str, token: str, new_password: str, via: str = "api"
) -> User:
    """Sets the invited user's password and confirms the address; the link is used up."""
    # Locked, so two accepts of one link at once set the password only once.
    user = invited_user(uid=uid, token=token, for_update=True)
    if user is None:
        raise InvalidInput("token", ["The invitation link is invalid or has expired."])
    user.set_password(
        _password_checked(password=new_password, user=user, field="new_password"),
        actor=user,
        via=via,
        action=Action.INVITATION_ACCEPTED,
    )
    user.save(update_fields=["password"])
    # The link was mailed to this address, so the owner has proven it.
    EmailAddress.objects.filter(user=user, email=user.email).update(verified=True)
    return user


def user_set_password(*, user: User, password: str, set_by: User) -> User:
    """An admin sets a user's password; like every password change, it ends sessions."""
    user.set_password(
        _password_checked(password=password, user=user), actor=set_by, via="admin"
    )
    user.save(update_fields=["password"])
    return user


@transaction.atomic
def email_address_confirm(*, key: str, request: HttpRequest) -> EmailAddress:
    """Confirms the address of an emailed key (the FIRST_ADMIN_EMAIL rule applies)."""
    confirmation = get_emailconfirmation_model().from_key(key)
    address = confirmation.confirm(request) if confirmation is not None else None
    if address is None:
        raise InvalidInput(
            "key", ["This confirmation link is invalid, used or expired."]
        )
    return address


AVATAR_TYPES = IMAGE_TYPES


def user_set_avatar(*, user: User, upload: UploadedFile) -> User:
    """Stores an uploaded image as the avatar; the previous upload is removed."""
    detected = validate_upload(upload, allowed=AVATAR_TYPES)
    path = file_store(
        file=upload, category="avatars", owner_key=str(user.pk), detected=detected
    )
    try:
        with transaction.atomic():
            previous = User.objects.select_for_update().get(pk=user.pk).avatar_file.name
            user.avatar_file = path
            # Its URL is signed and expires, so it is built on each read instead.
            user.avatar_url = ""
            user.save(update_fields=["avatar_file", "avatar_url"])
            files_delete_on_commit([previous])
    except Exception:
        file_remove_now(path)
        raise
    return user


@transaction.atomic
def user_delete(*, user: User, password: str | None) -> None:
    """Deletes the account with its sessions, data and stored files."""
    if user.has_usable_password() and not user.check_password(password or ""):
        raise InvalidInput("password", ["The password is not correct."])
    _user_delete(user=user, actor=user)


@transaction.atomic
def user_delete_by_admin(*, user: User, deleted_by: User) -> None:
    """An admin's deletion of an account: no password asked, the same rules kept."""
    _user_delete(user=user, actor=deleted_by)


def _user_delete(*, user: User, actor: User) -> None:
    _ensure_an_admin_remains(user=user, new_role=User.Role.USER, new_status=user.status)
    files_delete_on_commit([user.avatar_file.name])
    LoginCode.objects.filter(email=user.email).delete()
    # Feature apps (resources) delete their rows of the user and queue those rows'
    # files here, inside this transaction.
    user_data_delete.send(sender=User, user=user)
    # Recorded before the delete: the entry stays, its actor set to NULL with the row.
    record_activity(action=Action.ACCOUNT_DELETED, actor=actor, target=user)
    # The entries stay, this one included, but none may name the person any more.
    activity_anonymise(subject=user, identifiers=[user.email], names=[user.full_name])
    user.delete()


# --- Access requests --------------------------------------------------------------


def access_request_open(*, user: User, reason: str) -> AccessRequest:
    pending = AccessRequest.objects.filter(
        user=user, status=AccessRequest.Status.PENDING
    )
    access_request = pending.first()
    if access_request is None:
        access_request = AccessRequest.objects.create(user=user, reason=reason)
        request_id = str(access_request.pk)
        transaction.on_commit(
            lambda: tasks.email_admins_about_request.enqueue(request_id)
        )
    elif reason and reason != access_request.reason:
        access_request.reason = reason
        access_request.save(update_fields=["reason"])
    return access_request


@transaction.atomic
def access_request_approve(
    *,
    access_request: AccessRequest,
    decided_by: User | None,
    role: str | None = None,
    note: str = "",
) -> AccessRequest:
    """Approves the request and its user; approving twice changes nothing."""
    access_request = AccessRequest.objects.select_for_update().get(pk=access_request.pk)
    if access_request.status == AccessRequest.Status.APPROVED:
        return access_request
    _decide(
        access_request, AccessRequest.Status.APPROVED, decided_by=decided_by, note=note
    )
    user = access_request.user
    user_set_status(user=user, status=User.Status.APPROVED, actor=decided_by)
    if role and role != user.role:
        user.set_role(role, actor=decided_by)
    record_activity(
        action=Action.ACCESS_APPROVED,
        actor=decided_by,
        target=user,
        metadata={
            "access_request": str(access_request.pk),
            "note": note,
            "role": user.role,
        },
    )
    _email_decision_on_commit(access_request)
    return access_request


@transaction.atomic
def access_request_reject(
    *, access_request: AccessRequest, decided_by: User | None, note: str = ""
) -> AccessRequest:
    """Rejects the request and its user, ending any sessions; rejecting twice is a no-op."""
    access_request = AccessRequest.objects.select_for_update().get(pk=access_request.pk)
    if access_request.status == AccessRequest.Status.REJECTED:
        return access_request
    user = access_request.user
    _ensure_an_admin_remains(
        user=user, new_role=user.role, new_status=User.Status.REJECTED
    )
    _decide(
        access_request, AccessRequest.Status.REJECTED, decided_by=decided_by, note=note
    )
    user_set_status(user=user, status=User.Status.REJECTED, actor=decided_by)
    record_activity(
        action=Action.ACCESS_REJECTED,
        actor=decided_by,
        target=user,
        metadata={"access_request": str(access_request.pk), "note": note},
    )
    _email_decision_on_commit(access_request)
    return access_request


def _email_decision_on_commit(access_request: AccessRequest) -> None:
    request_id = str(access_request.pk)
    transaction.on_commit(lambda: tasks.email_user_about_decision.enqueue(request_id))


def _decide(
    access_request: AccessRequest, status: str, *, decided_by: User | None, note: str
) -> None:
    access_request.status = status
    access_request.decided_by = decided_by
    access_request.decided_at = timezone.now()
    access_request.note = note
    access_request.save(update_fields=["status", "decided_by", "decided_at", "note"])
