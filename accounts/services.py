"""Account rules: sign-up, sign-in, approval, roles and sessions."""

from __future__ import annotations

import logging
import posixpath
import uuid
from datetime import datetime, timedelta
from typing import Any

from allauth.account.models import EmailAddress, get_emailconfirmation_model
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import emails, tasks
from accounts.errors import (
    AccessRejected,
    AccountDisabled,
    ApprovalPending,
    EmailTaken,
    InvalidInput,
    SignupClosed,
    TokenNotValid,
)
from accounts.invitations import invited_user
from accounts.models import (
    AccessRequest,
    AuthSession,
    PasswordChange,
    User,
    normalize_email,
)
from core.audit import Action, activity_anonymise, record_activity
from core.client_ip import client_ip
from core.errors import ApiError
from core.files import file_remove_now, file_store, files_delete_on_commit
from core.models import ActivityLog
from core.uploads import validate_upload

logger = logging.getLogger(__name__)

ADMINS_GROUP = "admins"
# Hashing a throwaway password for unknown emails makes a miss cost as much as a hit.
_TIMING_DUMMY_PASSWORD = "gatehouse-timing-equaliser"  # noqa: S105


class LastAdminError(ApiError):
    status_code = 400
    default_code = "last_admin"
    default_detail = "The last active admin cannot be demoted, disabled or removed."

    def __init__(self) -> None:
        detail = str(self.default_detail)
        super().__init__(detail, errors={"non_field_errors": [detail]})


# --- Users ----------------------------------------------------------------------


def _password_checked(*, password: str, user: User, field: str = "password") -> str:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(field, list(exc.messages)) from exc
    return password


def user_set_role(*, user: User, role: str, actor: User | None = None) -> User:
    """Sets the role and keeps is_staff, is_superuser and the admins group in step."""
    is_admin = role == User.Role.ADMIN
    previous, user.role = user.role, role
    user.is_staff = user.is_superuser = is_admin
    user.save(update_fields=["role", "is_staff", "is_superuser"])
    group, _ = Group.objects.get_or_create(name=ADMINS_GROUP)
    if is_admin:
        user.groups.add(group)
    else:
        user.groups.remove(group)
    if previous != role:
        record_activity(
            action=Action.ROLE_CHANGED,
            actor=actor,
            target=user,
            metadata={"from": previous, "to": role},
        )
    return user


@transaction.atomic
def user_create_admin(*, email: str, password: str | None, **fields: Any) -> User:
    """Creates an approved admin with a confirmed email (createsuperuser, seed data)."""
    fields.pop("is_staff", None)
    fields.pop("is_superuser", None)
    user = User(email=normalize_email(email), status=User.Status.APPROVED, **fields)
    user.set_password(password)
    user.save()
    EmailAddress.objects.create(
        user=user, email=user.email, primary=True, verified=True
    )
    return user_set_role(user=user, role=User.Role.ADMIN)


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
        user_set_role(user=user, role=new_role, actor=updated_by)
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
    if "avatar_url" in allowed and user.avatar_file:
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


def user_sign_in(*, user: User, request: HttpRequest, method: str) -> dict[str, str]:
    """Tokens for an approved user on a new session; the contract's 403 otherwise."""
    errors = {
        User.Status.PENDING: ApprovalPending,
        User.Status.REJECTED: AccessRejected,
        User.Status.DISABLED: AccountDisabled,
    }
    if user.status in errors:
        error = errors[user.status]()
        sign_in_failed(method=method, reason=error.code, email=user.email, user=user)
        raise error
    return session_start(user=user, request=request, method=method)


# Entries that show an admin (or the rule itself) has already decided on a user.
_DECIDED_ACTIONS = [
    Action.STATUS_CHANGED,
    Action.ROLE_CHANGED,
    Action.ACCESS_APPROVED,
    Action.ACCESS_REJECTED,
    Action.FIRST_ADMIN_APPLIED,
]


@transaction.atomic
def user_make_first_admin_if_listed(*, user: User) -> User:
    """Once, approves as admin the undecided user verified as FIRST_ADMIN_EMAIL."""
    if not settings.FIRST_ADMIN_EMAIL or user.email != settings.FIRST_ADMIN_EMAIL:
        return user
    verified = EmailAddress.objects.filter(user=user, email=user.email, verified=True)
    if not verified.exists():
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
        user_set_role(user=user, role=User.Role.ADMIN)
    return user


def _new_user_status() -> str:
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
    user = User(email=email, full_name=full_name, status=_new_user_status())
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


# Set through a link mailed to the address: whoever chose the password holds the mailbox.
_MAILBOX_PROVEN_ACTIONS = {Action.PASSWORD_RESET, Action.INVITATION_ACCEPTED}


def password_change_record(*, user: User, change: PasswordChange) -> None:
    """Ends the sessions of a user whose password was just saved, and audits it."""
    user.password_unproven = (
        change.action not in _MAILBOX_PROVEN_ACTIONS
        and not EmailAddress.objects.filter(
            user=user, email=user.email, verified=True
        ).exists()
    )
    User.objects.filter(pk=user.pk).update(password_unproven=user.password_unproven)
    sessions_end_all(
        user=user,
        reason=change.action.replace(".", "_"),
        except_id=change.keep_session_id,
    )
    record_activity(
        action=change.action,
        actor=change.actor,
        target=user,
        metadata={"via": change.via},
    )


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
        user_set_role(user=user, role=role, actor=invited_by)
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


def email_confirmation_resend(*, email: str) -> None:
    """Mails a new confirmation link to an address that is still unconfirmed."""
    address = (
        EmailAddress.objects.filter(email=normalize_email(email), verified=False)
        .select_related("user")
        .first()
    )
    if address is not None:
        address.send_confirmation(None)


AVATAR_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp"]


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
    files_delete_on_commit(_stored_files_of(user))
    # Recorded before the delete: the entry stays, its actor set to NULL with the row.
    record_activity(action=Action.ACCOUNT_DELETED, actor=actor, target=user)
    # The entries stay, this one included, but none may name the person any more.
    activity_anonymise(subject=user, identifiers=[user.email], names=[user.full_name])
    user.delete()


@transaction.atomic
def user_logout_all(*, user: User) -> None:
    sessions_end_all(user=user, reason="logout_all")
    record_activity(action=Action.LOGGED_OUT_ALL, actor=user, target=user)


def _stored_files_of(user: User) -> list[str]:
    from resources.models import ResourceFile

    resource_files = ResourceFile.objects.filter(resource__owner=user)
    return [user.avatar_file.name, *resource_files.values_list("file", flat=True)]


# --- Google sign-in --------------------------------------------------------------


def user_sign_in_with_google(*, claims: dict[str, Any]) -> User:
    """Finds or creates the user of verified Google claims, linked by `sub`."""
    try:
        return _user_sign_in_with_google(claims=claims)
    except IntegrityError:
        # A concurrent first sign-in of the same account won the insert; the
        # second attempt finds its rows.
        return _user_sign_in_with_google(claims=claims)


@transaction.atomic
def _user_sign_in_with_google(*, claims: dict[str, Any]) -> User:
    sub, email = str(claims["sub"]), normalize_email(claims["email"])
    account = SocialAccount.objects.select_related("user").filter(
        provider="google", uid=sub
    )
    account = account.first()
    if account is not None:
        user = account.user
        account.extra_data = claims
        account.save(update_fields=["extra_data", "last_login"])
    else:
        user = User.objects.select_for_update().filter(email=email).first()
        if user is None:
            user = _user_create_from_google(email=email, claims=claims)
        else:
            _user_join_google(user=user)
        SocialAccount.objects.create(
            user=user, provider="google", uid=sub, extra_data=claims
        )

    address, _ = EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"primary": user.email == email}
    )
    if not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])
    _fill_profile_from_google(user=user, claims=claims)
    return user_make_first_admin_if_listed(user=user)


def _user_create_from_google(*, email: str, claims: dict[str, Any]) -> User:
    if settings.SIGNUP_MODE == "closed":
        raise SignupClosed()
    user = User.objects.create_user(
        email=email,
        status=_new_user_status(),
        auth_provider=User.AuthProvider.GOOGLE,
    )
    record_activity(
        action=Action.SIGNED_UP,
        actor=user,
        target=user,
        metadata={"method": "google", "status": user.status},
    )
    # Google has verified the address, so FIRST_ADMIN_EMAIL is approved just after;
    # a request would only notify the admins (this user included) of nothing.
    if user.status == User.Status.PENDING and email != settings.FIRST_ADMIN_EMAIL:
        access_request_open(user=user, reason="")
    return user


def _user_join_google(*, user: User) -> None:
    confirmed = EmailAddress.objects.filter(user=user, email=user.email, verified=True)
    if confirmed.exists() and not user.password_unproven:
        return
    # Whoever chose this password had not proven the address (a confirmation
    # later does not tell who chose it); Google just proved it for the mailbox's
    # owner, so the password and its sessions are dropped.
    user.set_unusable_password()
    user.password_unproven = False
    user.save(update_fields=["password", "password_unproven"])
    sessions_end_all(user=user, reason="google_took_over")


def _fill_profile_from_google(*, user: User, claims: dict[str, Any]) -> None:
    changed = []
    if not user.full_name and claims.get("name"):
        user.full_name = str(claims["name"])[:150]
        changed.append("full_name")
    if not user.avatar_url and not user.avatar_file and claims.get("picture"):
        user.avatar_url = str(claims["picture"])[:1000]
        changed.append("avatar_url")
    if changed:
        user.save(update_fields=changed)


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


def _hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def access_request_announce(*, access_request_id: str) -> None:
    """Mails the admins about a new request once; past the hour's allowance, a digest."""
    access_request = AccessRequest.objects.select_related("user").get(
        pk=access_request_id
    )
    window_start = _hour_of(access_request.created_at)
    position = AccessRequest.objects.filter(
        created_at__gte=window_start, created_at__lte=access_request.created_at
    ).count()
    allowance = settings.ACCESS_REQUEST_EMAILS_PER_HOUR
    if position <= allowance:
        # Claimed and mailed in one transaction: a retry after a failed send
        # mails again, a second run after a sent one does not.
        with transaction.atomic():
            claimed = AccessRequest.objects.filter(
                pk=access_request.pk, admins_notified_at__isnull=True
            ).update(admins_notified_at=timezone.now())
            if claimed:
                emails.access_request_notify_admins(access_request)
        return
    digest = tasks.email_admins_digest
    if digest.get_backend().supports_defer:
        if position != allowance + 1:
            return  # the first request past the allowance scheduled the digest
        digest = digest.using(run_after=window_start + timedelta(hours=1))
    digest.enqueue(window_start.isoformat())


@transaction.atomic
def access_requests_digest_send(*, window_start: datetime) -> int:
    """Mails the admins one list of the hour's requests no mail has announced yet."""
    unannounced = AccessRequest.objects.filter(
        created_at__gte=window_start,
        created_at__lt=window_start + timedelta(hours=1),
        admins_notified_at__isnull=True,
    )
    claimed = list(
        unannounced.select_for_update(of=("self",))
        .select_related("user")
        .order_by("created_at")
    )
    AccessRequest.objects.filter(pk__in=[r.pk for r in claimed]).update(
        admins_notified_at=timezone.now()
    )
    still_pending = [r for r in claimed if r.status == AccessRequest.Status.PENDING]
    if still_pending:
        emails.access_requests_digest_notify_admins(still_pending)
    return len(still_pending)


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
        user_set_role(user=user, role=role, actor=decided_by)
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


# --- Sessions and tokens ----------------------------------------------------------


def _refresh_token_for(*, session: AuthSession) -> RefreshToken:
    token = RefreshToken.for_user(session.user)
    token["sid"] = str(session.pk)
    token["exp"] = int(session.expires_at.timestamp())
    return token


def _token_pair(refresh: RefreshToken) -> dict[str, str]:
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def session_start(
    *, user: User, request: HttpRequest, method: str = "password"
) -> dict[str, str]:
    """Signs the user in on a new device session and returns its token pair."""
    now = timezone.now()
    lifetime: timedelta = settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
    session = AuthSession(
        user=user,
        refresh_jti="",
        created_at=now,
        last_used_at=now,
        expires_at=(now + lifetime).replace(microsecond=0),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        ip=client_ip(request) or None,
    )
    refresh = _refresh_token_for(session=session)
    session.refresh_jti = refresh["jti"]
    with transaction.atomic():
        session.save()
        User.objects.filter(pk=user.pk).update(last_login=now)
        record_activity(
            action=Action.SIGN_IN_SUCCEEDED,
            actor=user,
            target=user,
            metadata={"method": method, "session": str(session.pk)},
        )
    return _token_pair(refresh)


def _session_of(raw_refresh: str) -> tuple[RefreshToken, AuthSession]:
    try:
        token = RefreshToken(raw_refresh)
    except TokenError as exc:
        raise TokenNotValid() from exc
    session = (
        AuthSession.objects.select_related("user").filter(pk=token.get("sid")).first()
        if _is_uuid(token.get("sid"))
        else None
    )
    if session is None or str(session.user_id) != str(token.get("user_id")):
        raise TokenNotValid()
    return token, session


def session_refresh(*, raw_refresh: str) -> dict[str, str]:
    """Rotates a refresh token; exactly one of several concurrent calls succeeds."""
    token, session = _session_of(raw_refresh)
    if not session.is_live or not session.user.is_approved:
        raise TokenNotValid()
    jti = token["jti"]
    now = timezone.now()
    if session.refresh_jti != jti:
        grace = timedelta(seconds=settings.JWT_REFRESH_REUSE_GRACE_SECONDS)
        if session.rotated_at is None or now - session.rotated_at > grace:
            logger.warning(
                "Rotated refresh token reused; ending session %s", session.pk
            )
            session_end(session=session, reason="refresh_reuse")
        raise TokenNotValid("This refresh token has already been used.")

    new_refresh = _refresh_token_for(session=session)
    # A compare-and-swap on the current jti: concurrent rotations of one token
    # all match the WHERE, but only the first UPDATE still finds the old jti.
    rotated = AuthSession.objects.filter(
        pk=session.pk, refresh_jti=jti, ended_at__isnull=True, expires_at__gt=now
    ).update(refresh_jti=new_refresh["jti"], rotated_at=now, last_used_at=now)
    if not rotated:
        raise TokenNotValid("This refresh token has already been used.")
    return _token_pair(new_refresh)


def session_logout(*, raw_refresh: str) -> None:
    _, session = _session_of(raw_refresh)
    session_end(session=session, reason="logout")


def session_end(*, session: AuthSession, reason: str) -> None:
    AuthSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(
        ended_at=timezone.now(), end_reason=reason
    )


def sessions_end_all(*, user: User, reason: str, except_id: str | None = None) -> int:
    sessions = AuthSession.objects.filter(user=user, ended_at__isnull=True)
    if except_id:
        sessions = sessions.exclude(pk=except_id)
    return sessions.update(ended_at=timezone.now(), end_reason=reason)


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
