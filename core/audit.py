"""The audit trail: record_activity() inside the transaction of the change.

The request's IP and user agent come from a context variable that
RequestContextMiddleware sets, so services need no request parameter.
"""

from __future__ import annotations

import contextvars
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connections, models, router, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.db.models.sql import InsertQuery
from django.http import HttpRequest, HttpResponse

from core.client_ip import client_ip
from core.models import ActivityLog

Action = ActivityLog.Action
# Keys that must never reach the log, whatever a caller passes in metadata.
SECRET_KEYS = frozenset(
    {
        "password",
        "old_password",
        "new_password",
        "token",
        "access",
        "refresh",
        "id_token",
    }
)


@dataclass(frozen=True)
class RequestContext:
    ip: str | None
    user_agent: str


_request_context: contextvars.ContextVar[RequestContext | None] = (
    contextvars.ContextVar("gatehouse_request_context", default=None)
)


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        context = RequestContext(
            ip=client_ip(request) or None,
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        )
        reset = _request_context.set(context)
        try:
            return self.get_response(request)
        finally:
            _request_context.reset(reset)


def record_activity(
    *,
    action: str,
    actor: Any = None,
    target: models.Model | None = None,
    metadata: dict[str, Any] | None = None,
) -> ActivityLog:
    """Writes one audit entry; call it inside the transaction of the change."""
    entry = activity_entry(action=action, actor=actor, target=target, metadata=metadata)
    entry.save(force_insert=True)
    return entry


def activity_entry(
    *,
    action: str,
    actor: Any = None,
    target: models.Model | None = None,
    metadata: dict[str, Any] | None = None,
) -> ActivityLog:
    """The entry record_activity() writes, not yet saved."""
    context = _request_context.get() or RequestContext(ip=None, user_agent="")
    clean = {k: v for k, v in (metadata or {}).items() if k not in SECRET_KEYS}
    return ActivityLog(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        target_type=(target._meta.model_name or "") if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        ip=context.ip,
        user_agent=context.user_agent,
        metadata=clean,
    )


def insert_with_activity(instance: models.Model, *, entry: ActivityLog) -> None:
    """Inserts a new row, its primary key already set, and its audit entry, all or
    nothing: on PostgreSQL as one statement, elsewhere in one transaction.

    One statement needs no BEGIN and COMMIT: the writes take one round trip to the
    database instead of four, and skip Model.save() (no model here has signals).
    """
    if instance.pk is None:
        raise ValueError("insert_with_activity() needs the row's primary key set")
    using = router.db_for_write(type(instance), instance=instance)
    connection = connections[using]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=using):
            instance.save(force_insert=True, using=using)
            entry.save(force_insert=True, using=using)
        return
    row_sql, row_params = _insert_sql(instance, using)
    entry_sql, entry_params = _insert_sql(entry, using)
    pk_column = connection.ops.quote_name(ActivityLog._meta.pk.column or "id")
    with connection.cursor() as cursor:
        # PostgreSQL runs a data-modifying WITH to completion even when unread.
        cursor.execute(
            f"WITH inserted AS ({row_sql}) {entry_sql} RETURNING {pk_column}",
            [*row_params, *entry_params],
        )
        (entry.pk,) = cursor.fetchone()
    for saved in (instance, entry):
        saved._state.adding = False
        saved._state.db = using


def _insert_sql(instance: models.Model, using: str) -> tuple[str, list]:
    """The INSERT Model.save() sends for a new row, its pre_save() (auto_now) run."""
    meta = instance._meta
    fields = [
        field
        for field in meta.local_concrete_fields
        if not field.generated
        and not (field is meta.auto_field and instance.pk is None)
    ]
    query = InsertQuery(type(instance))
    query.insert_values(fields, [instance])
    [(sql, params)] = query.get_compiler(using=using).as_sql()
    return sql, list(params)


ANONYMISED = "[deleted]"


def activity_anonymise(
    *, subject: models.Model, identifiers: Iterable[str], names: Iterable[str] = ()
) -> int:
    """Scrubs the subject (its id, identifiers and names) from every entry; a count."""
    subject_id = str(subject.pk)
    keys = {subject_id, getattr(subject.pk, "hex", subject_id)}
    keys |= {key.strip() for key in identifiers if key and key.strip()}
    names = {name.strip() for name in names if name and name.strip()}
    # Entries are picked in the database (indexed fields, and the JSON as text in
    # its stored escaping), so the log is never loaded whole. A name alone picks
    # none: a common one would scrub strangers' entries.
    mentions = Q()
    for key in keys | {json.dumps(key)[1:-1] for key in keys}:
        mentions |= Q(metadata_text__icontains=key)
    entries = (
        ActivityLog.objects.annotate(metadata_text=Cast("metadata", TextField()))
        .filter(
            Q(actor_id=subject.pk)
            | Q(target_type=subject._meta.model_name, target_id=subject_id)
            | mentions
        )
        .only("actor", "target_type", "target_id", "metadata")
    )
    pattern = re.compile(
        "|".join(
            [re.escape(key) for key in keys]
            + [rf"\b{re.escape(name)}\b" for name in names]
        ),
        re.IGNORECASE,
    )
    changed = []
    for entry in entries:
        if entry.actor_id == subject.pk:
            entry.actor_id = None
        if entry.target_id == subject_id:
            entry.target_id = ""
        entry.metadata = _scrubbed(entry.metadata, pattern)
        changed.append(entry)
    ActivityLog.objects.bulk_update(changed, ["actor", "target_id", "metadata"])
    return len(changed)


def _scrubbed(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, dict):
        return {key: _scrubbed(item, pattern) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrubbed(item, pattern) for item in value]
    if isinstance(value, str):
        return pattern.sub(ANONYMISED, value)
    return value
