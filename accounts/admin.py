from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    QuerySet,
    Value,
    When,
)
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from accounts import groups as group_services
from accounts import services
from accounts.errors import InvalidInput, LastAdminError
from accounts.models import (
    ADMINS_GROUP,
    AccessRequest,
    AuthSession,
    ExternalIdentity,
    User,
    UserQuerySet,
    normalize_email,
    verified_addresses,
)
from accounts.permissions import signed_in_user
from core.models import ActivityLog
from core.selectors import activity_for_user

RECENT_ACTIVITY_LIMIT = 20

admin.site.site_header = "Gatehouse administration"
admin.site.site_title = "Gatehouse admin"
admin.site.index_title = "Approval console"


class DecisionForm(forms.Form):
    role = forms.ChoiceField(
        choices=[("", "Keep the current role"), *User.Role.choices], required=False
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        required=False,
        help_text="Optional; included in the email to the user.",
    )


def _decide(
    modeladmin: AccessRequestAdmin,
    request: HttpRequest,
    queryset: QuerySet[AccessRequest],
    *,
    decision: str,
) -> HttpResponse | None:
    if "confirm" in request.POST:
        form = DecisionForm(request.POST)
        if form.is_valid():
            note = form.cleaned_data["note"]
            target = (
                AccessRequest.Status.APPROVED
                if decision == "approve"
                else AccessRequest.Status.REJECTED
            )
            decided = unchanged = 0
            for access_request in queryset.select_related("user"):
                # The services leave an already-decided request as it is, so it is
                # reported apart instead of as decided now.
                if access_request.status == target:
                    unchanged += 1
                    continue
                try:
                    if decision == "approve":
                        services.access_request_approve(
                            access_request=access_request,
                            decided_by=signed_in_user(request),
                            role=form.cleaned_data["role"] or None,
                            note=note,
                        )
                    else:
                        services.access_request_reject(
                            access_request=access_request,
                            decided_by=signed_in_user(request),
                            note=note,
                        )
                    decided += 1
                except LastAdminError as exc:
                    modeladmin.message_user(request, str(exc.detail), messages.ERROR)
            if decided:
                modeladmin.message_user(
                    request, f"{decided} request(s) {target}.", messages.SUCCESS
                )
            if unchanged:
                modeladmin.message_user(
                    request,
                    f"{unchanged} request(s) already {target}; left unchanged.",
                    messages.WARNING,
                )
            return None
    else:
        form = DecisionForm()
    if decision == "reject":
        del form.fields["role"]
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"{decision.capitalize()} access requests",
        "decision": decision,
        "queryset": queryset.select_related("user"),
        "form": form,
        "opts": modeladmin.model._meta,
        "action": f"{decision}_requests",
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(
        request, "admin/accounts/accessrequest/decide.html", context
    )


@admin.register(AccessRequest)
class AccessRequestAdmin(admin.ModelAdmin):
    list_display = [
        "user_name",
        "user_email",
        "email_verified",
        "sign_in_method",
        "status",
        "age",
        "reason_short",
        "decided_at",
        "decided_by",
    ]
    list_display_links = ["user_name", "user_email"]
    list_filter = ["status", "user__auth_provider", "created_at"]
    search_fields = ["user__email", "user__full_name", "reason"]
    list_select_related = ["user", "decided_by"]
    readonly_fields = (
        "user",
        "user_details",
        "reason",
        "status",
        "created_at",
        "decided_at",
        "decided_by",
        "note",
    )
    fields = readonly_fields
    actions = ["approve_requests", "reject_requests"]

    # The changelist replaces a queryset's order_by() with the admin ordering, so
    # pending-first has to be the admin ordering itself.
    ordering = [
        Case(
            When(status=AccessRequest.Status.PENDING, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ).asc(),
        "-created_at",
    ]

    class Media:
        css = {"all": ["gatehouse/admin.css"]}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccessRequest]:
        # One EXISTS per row inside the list's own query, instead of one query
        # per row for the user's email addresses.
        verified = verified_addresses(
            user=OuterRef("user_id"), email=OuterRef("user__email")
        )
        return (
            super().get_queryset(request).annotate(user_email_verified=Exists(verified))
        )

    @admin.display(description="Email", ordering="user__email")
    def user_email(self, obj: AccessRequest) -> str:
        return obj.user.email

    @admin.display(description="Name", ordering="user__full_name")
    def user_name(self, obj: AccessRequest) -> str:
        return obj.user.full_name or "(no name)"

    @admin.display(
        description="Email verified", boolean=True, ordering="user_email_verified"
    )
    def email_verified(self, obj: AccessRequest) -> bool:
        return obj.user_email_verified  # type: ignore[attr-defined]  # get_queryset's

    @admin.display(description="Signed up with", ordering="user__auth_provider")
    def sign_in_method(self, obj: AccessRequest) -> str:
        return obj.user.get_auth_provider_display()

    @admin.display(description="Reason")
    def reason_short(self, obj: AccessRequest) -> str:
        return obj.reason[:80]

    @admin.display(description="Age", ordering="-created_at")
    def age(self, obj: AccessRequest) -> str:
        if timezone.now() - obj.created_at < timedelta(minutes=1):
            return "just now"
        return timesince(obj.created_at, depth=1)

    @admin.display(description="User")
    def user_details(self, obj: AccessRequest) -> str:
        user = obj.user
        # format_html() escapes its arguments to strings first, so a date format
        # spec in the template would raise and the admin would show "-".
        return format_html(
            "{} &lt;{}&gt; — status {}, role {}, signed up with {} on {}",
            user.full_name or "(no name)",
            user.email,
            user.status,
            user.role,
            user.auth_provider,
            f"{timezone.localtime(user.date_joined):%Y-%m-%d}",
        )

    @admin.action(description="Approve selected requests…")
    def approve_requests(
        self, request: HttpRequest, queryset: QuerySet
    ) -> HttpResponse | None:
        return _decide(self, request, queryset, decision="approve")

    @admin.action(description="Reject selected requests…")
    def reject_requests(
        self, request: HttpRequest, queryset: QuerySet
    ) -> HttpResponse | None:
        return _decide(self, request, queryset, decision="reject")


class AccessRequestInline(admin.TabularInline):
    model = AccessRequest
    fk_name = "user"
    fields = ("status", "reason", "created_at", "decided_at", "decided_by", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class AuthSessionInline(admin.TabularInline):
    model = AuthSession
    fields = (
        "created_at",
        "last_used_at",
        "expires_at",
        "ended_at",
        "end_reason",
        "ip",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ExternalIdentityInline(admin.TabularInline):
    model = ExternalIdentity
    verbose_name_plural = "external identities (EXTERNAL_JWT_ISSUERS)"
    fields = ("issuer", "subject", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class UserAdminForm(forms.ModelForm):
    groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.exclude(name=ADMINS_GROUP).order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What the user may do beyond the role; the admins group follows "
        "the role.",
    )

    class Meta:
        model = User
        fields = ["full_name", "avatar_url", "status", "role"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial["groups"] = list(
                self.instance.groups.exclude(name=ADMINS_GROUP)
            )


class UserAddForm(forms.ModelForm):
    """Add user: no password; the user is mailed an invitation to choose one."""

    class Meta:
        model = User
        fields = ["email", "full_name", "role"]

    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data["email"])


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    form = UserAdminForm
    list_display = [
        "email",
        "full_name",
        "email_verified",
        "status",
        "role",
        "sign_in_method",
        "date_joined",
    ]
    list_filter = ["status", "role", "auth_provider"]
    search_fields = ["email", "full_name"]
    ordering = ["-date_joined"]
    fields = [
        "email",
        "email_verified",
        "full_name",
        "avatar_url",
        "status",
        "role",
        "groups",
        "sign_in_method",
        "date_joined",
        "last_login",
        "recent_activity",
    ]
    readonly_fields = [
        "email",
        "email_verified",
        "sign_in_method",
        "date_joined",
        "last_login",
        "recent_activity",
    ]
    inlines = [AccessRequestInline, AuthSessionInline, ExternalIdentityInline]
    add_fields = ["email", "full_name", "role"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        # The admin's queryset is User.objects', typed by the stubs as a plain one.
        return cast(UserQuerySet, super().get_queryset(request)).with_email_verified()

    def get_form(
        self,
        request: HttpRequest,
        obj: User | None = None,
        change: bool = False,
        **kwargs,
    ) -> type[forms.ModelForm]:
        if obj is None:
            kwargs["form"] = UserAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: User | None = None) -> list[Any]:
        return self.add_fields if obj is None else [*self.fields, "password_link"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: User | None = None
    ) -> list[str]:
        return [] if obj is None else [*self.readonly_fields, "password_link"]

    def get_inlines(self, request: HttpRequest, obj: User | None) -> list:
        return [] if obj is None else self.inlines

    def get_urls(self) -> list:
        password = path(
            "<path:object_id>/password/",
            self.admin_site.admin_view(self.password_view),
            name="accounts_user_password",
        )
        return [password, *super().get_urls()]

    @admin.display(description="Password")
    def password_link(self, obj: User) -> SafeString:
        label = "Set a new password" if obj.has_usable_password() else "Set a password"
        return format_html(
            '<a href="{}">{}</a> (ends all of the user\'s sessions)',
            reverse("admin:accounts_user_password", args=[obj.pk]),
            label,
        )

    @admin.display(
        description="Email verified", boolean=True, ordering="email_verified"
    )
    def email_verified(self, obj: User) -> bool:
        return obj.email_verified  # type: ignore[attr-defined]  # with_email_verified()

    @admin.display(description="Sign-in method", ordering="auth_provider")
    def sign_in_method(self, obj: User) -> str:
        return obj.get_auth_provider_display()

    @admin.display(description=f"Recent activity (last {RECENT_ACTIVITY_LIMIT})")
    def recent_activity(self, obj: User) -> SafeString | str:
        entries = activity_for_user(user_id=obj.pk)[:RECENT_ACTIVITY_LIMIT]
        return _activity_table(
            ["When", "Action", "By", "IP", "Details"],
            (
                (
                    _moment_label(entry.created_at),
                    entry.action,
                    _actor_label(entry.actor, user=obj),
                    entry.ip or "",
                    _metadata_label(entry.metadata),
                )
                for entry in entries
            ),
        )

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        # Raised from save_model() inside the admin's transaction, so the whole edit
        # rolls back and neither "changed successfully" nor a log entry is recorded.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except LastAdminError as exc:
            self.message_user(request, str(exc.detail), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(
        self, request: HttpRequest, obj: User, form: forms.Form, change: bool
    ) -> None:
        if not change:
            invited = services.user_invite(
                invited_by=signed_in_user(request),
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                role=form.cleaned_data["role"],
            )
            # The admin's add view logs and links to `obj`, so it becomes that row.
            obj.pk, obj._state = invited.pk, invited._state
            return
        user = services.user_update(
            user=obj,
            role=form.cleaned_data["role"],
            status=form.cleaned_data["status"],
            full_name=form.cleaned_data["full_name"],
            groups=form.cleaned_data["groups"],
            updated_by=signed_in_user(request),
        )
        if "avatar_url" in form.changed_data:
            # Unchanged, the field is blank for an uploaded avatar: saving it as
            # given would replace the upload with nothing.
            services.user_update_profile(
                user=user, avatar_url=form.cleaned_data["avatar_url"]
            )

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool
    ) -> None:
        # user_update() has set the groups (audited, the admins group kept to the
        # role); form.save_m2m() would set them again, dropping the admins group.
        form.cleaned_data.pop("groups", None)
        super().save_related(request, form, formsets, change)

    def response_add(
        self, request: HttpRequest, obj: User, post_url_continue: str | None = None
    ) -> HttpResponse:
        self.message_user(
            request, f"An invitation to set a password was emailed to {obj.email}."
        )
        return super().response_add(request, obj, post_url_continue)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except LastAdminError as exc:
            self.message_user(request, str(exc.detail), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        # The bulk delete runs here; one refused user rolls back the whole batch,
        # and with it the log entries the admin wrote before deleting.
        if request.method != "POST":
            return super().changelist_view(request, extra_context)
        try:
            with transaction.atomic():
                return super().changelist_view(request, extra_context)
        except LastAdminError as exc:
            self.message_user(request, str(exc.detail), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        services.user_delete_by_admin(user=obj, deleted_by=signed_in_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.user_delete_by_admin(user=user, deleted_by=signed_in_user(request))

    def password_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        user = self.get_object(request, unquote(object_id))
        if user is None:
            raise Http404
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        form = SetPasswordForm(user, request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                services.user_set_password(
                    user=user,
                    password=form.cleaned_data["new_password1"],
                    set_by=signed_in_user(request),
                )
            except InvalidInput as exc:
                for message in (exc.errors or {}).get("password", []):
                    form.add_error("new_password1", message)
            else:
                if user.pk == request.user.pk:
                    update_session_auth_hash(request, user)
                self.log_change(request, user, "Set a new password.")
                self.message_user(
                    request,
                    "Password set; every session of the user has ended.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:accounts_user_change", args=[user.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Set the password of {user.email}",
            "form": form,
            "opts": self.opts,
            "original": user,
        }
        return TemplateResponse(request, "admin/accounts/user/password.html", context)


def _actor_label(actor: User | None, *, user: User) -> str:
    if actor is None:
        return "—"
    return "this user" if actor.pk == user.pk else actor.email


def _metadata_label(metadata: dict) -> str:
    return ", ".join(f"{key}: {value}" for key, value in sorted(metadata.items()))


def _moment_label(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def _activity_table(headers: list[str], rows: Iterable[tuple]) -> SafeString | str:
    """The recent-activity table of a user's or a group's page, cells escaped."""
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        (
            (format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),)
            for row in rows
        ),
    )
    if not body:
        return "No activity recorded yet."
    return format_html(
        '<table id="recent-activity"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        format_html_join("", "<th>{}</th>", ((header,) for header in headers)),
        body,
    )


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    """Groups and what they grant; saved through accounts.groups, so audited."""

    list_display = ["name", "member_count", "permission_count", "is_system"]
    fields = ["name", "permissions", "members", "recent_activity"]
    readonly_fields = ["members", "recent_activity"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Group]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                members_total=Count("user", distinct=True),
                permissions_total=Count("permissions", distinct=True),
            )
        )

    def get_fields(self, request: HttpRequest, obj: Group | None = None) -> list[Any]:
        return ["name", "permissions"] if obj is None else self.fields

    def get_readonly_fields(
        self, request: HttpRequest, obj: Group | None = None
    ) -> list[str]:
        if obj is not None and group_services.is_system_group(obj):
            return ["name", "permissions", *self.readonly_fields]
        return self.readonly_fields

    def has_delete_permission(
        self, request: HttpRequest, obj: Group | None = None
    ) -> bool:
        if obj is not None and group_services.is_system_group(obj):
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description="Members", ordering="members_total")
    def member_count(self, obj: Group) -> int:
        return obj.members_total  # type: ignore[attr-defined]  # get_queryset()

    @admin.display(description="Permissions", ordering="permissions_total")
    def permission_count(self, obj: Group) -> int | str:
        if group_services.is_system_group(obj):
            return "all (the admin role)"
        return obj.permissions_total  # type: ignore[attr-defined]  # get_queryset()

    @admin.display(description="System", boolean=True)
    def is_system(self, obj: Group) -> bool:
        return group_services.is_system_group(obj)

    @admin.display(description="Members")
    def members(self, obj: Group) -> SafeString | str:
        users = obj.user_set.order_by("email")
        links = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:accounts_user_change", args=[u.pk]), u.email)
                for u in users
            ),
        )
        if group_services.is_system_group(obj):
            note = " (the users with role admin: change a user's role to change this)"
            return format_html("{}{}", links or "No one", note)
        return links or "No one yet: add users from their user page."

    @admin.display(description=f"Recent activity (last {RECENT_ACTIVITY_LIMIT})")
    def recent_activity(self, obj: Group) -> SafeString | str:
        entries = ActivityLog.objects.filter(
            target_type="group", target_id=str(obj.pk)
        ).select_related("actor")[:RECENT_ACTIVITY_LIMIT]
        return _activity_table(
            ["When", "Action", "By", "Details"],
            (
                (
                    _moment_label(entry.created_at),
                    entry.action,
                    entry.actor.email if entry.actor else "—",
                    _metadata_label(entry.metadata),
                )
                for entry in entries
            ),
        )

    def save_model(
        self, request: HttpRequest, obj: Group, form: forms.Form, change: bool
    ) -> None:
        actor = signed_in_user(request)
        if change:
            if "name" in form.cleaned_data:
                group_services.group_update(
                    group=obj, name=form.cleaned_data["name"], actor=actor
                )
            return
        created = group_services.group_create(name=obj.name, actor=actor)
        # The admin's add view logs and links to `obj`, so it becomes that row.
        obj.pk, obj._state = created.pk, created._state

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool
    ) -> None:
        # Not form.save_m2m(): the service replaces the permissions and audits each.
        if "permissions" in form.cleaned_data:
            group_services.group_update(
                group=form.instance,
                permissions=form.cleaned_data["permissions"],
                actor=signed_in_user(request),
            )

    def delete_model(self, request: HttpRequest, obj: Group) -> None:
        group_services.group_delete(group=obj, actor=signed_in_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Group]) -> None:
        if queryset.filter(name__in=group_services.SYSTEM_GROUPS).exists():
            self.message_user(
                request,
                f"The {ADMINS_GROUP} group follows the admin role; it was kept.",
                messages.WARNING,
            )
        for group in queryset.exclude(name__in=group_services.SYSTEM_GROUPS):
            group_services.group_delete(group=group, actor=signed_in_user(request))
