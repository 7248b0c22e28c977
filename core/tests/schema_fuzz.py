"""Schemathesis's engine, run from a test against the app, in-process.

The engine (what `schemathesis run` drives) runs every phase: the schema's examples,
coverage (boundary and negative values for each parameter), random fuzzing, and the
stateful phase, which chains operations through the links it infers (a created id
fed to the operations that take one). It calls the WSGI application directly, from
its own worker thread, so the test database must be committed to (transaction=True);
on SQLite's in-memory test database that thread would see no tables.
"""

from __future__ import annotations

import collections
import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from django.db import connections
from schemathesis.engine import Status, events, from_schema
from schemathesis.transport.wsgi import WSGITransport

from config.wsgi import application

SCHEMA_PATH = "/api/v1/schema/?format=json"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "ignored_auth",
    "use_after_free",
)


@dataclass
class Finding:
    operation: str
    check: str
    title: str
    message: str
    status: int | None
    request: str

    def __str__(self) -> str:
        return (
            f"{self.operation}: {self.check}: {self.title} (HTTP {self.status})\n"
            f"    {self.message.splitlines()[0] if self.message else ''}\n"
            f"    {self.request}"
        )


@dataclass
class FuzzRun:
    cases: collections.Counter[str] = field(default_factory=collections.Counter)
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Every status each operation answered, e.g. {"GET /api/v1/auth/me/": {200, 401}}.
    statuses: dict[str, set[int]] = field(
        default_factory=lambda: collections.defaultdict(set)
    )

    @property
    def operations(self) -> set[str]:
        return set(self.statuses)

    @property
    def total(self) -> int:
        return sum(self.cases.values())


def fuzz_config(*, max_examples: int, seed: int | None, max_time: int | None = None):
    """Bounded and derandomized unless a seed is left out (`make fuzz`)."""
    generation: dict = {"max-examples": max_examples, "database": "none"}
    if seed is not None:
        generation["deterministic"] = True
    data: dict = {
        # Off: its cache replays earlier runs' cases, so a run would depend on those.
        "cache": {"enabled": False},
        "generation": generation,
        "workers": 1,
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": True, "max-steps": max(max_examples * 2, 20)},
        },
    }
    if seed is not None:
        data["seed"] = seed
    if max_time is not None:
        data["max-time"] = max_time
    return schemathesis.Config.from_dict(data)


# Settings that only a network client has. schemathesis 4.32.5 passes them on to
# werkzeug in the `ignored_auth` check's probes, which then fail with a TypeError.
_SOCKET_SETTINGS = ("max_redirects", "verify", "cert", "proxies")


@contextlib.contextmanager
def _in_process_probes() -> Iterator[None]:
    send = WSGITransport.send

    def without_socket_settings(self, case, *, session=None, **kwargs: Any):
        if session is None:
            for name in _SOCKET_SETTINGS:
                kwargs.pop(name, None)
        return send(self, case, session=session, **kwargs)

    WSGITransport.send = without_socket_settings  # type: ignore[method-assign]
    try:
        yield
    finally:
        WSGITransport.send = send  # type: ignore[method-assign]


def _closing_connections(environ: dict, start_response: Callable) -> list[bytes]:
    """The app, ending the calling thread's database connections after each answer.

    The engine reads an answer without closing it, so Django's request_finished,
    which would close them, never runs, and the test database could not be dropped.
    """
    response = application(environ, start_response)
    try:
        return [b"".join(response)]
    finally:
        response.close()
        connections.close_all()


def fuzz(
    *,
    token: Callable[[], str] | None,
    max_examples: int,
    seed: int | None,
    max_time: int | None = None,
) -> FuzzRun:
    """Runs every phase against the app; `token` mints a bearer token (None: no auth)."""
    config = fuzz_config(max_examples=max_examples, seed=seed, max_time=max_time)
    schema = schemathesis.openapi.from_wsgi(
        SCHEMA_PATH, _closing_connections, config=config
    )
    if token is not None:
        mint = token

        @schema.auth()
        class Bearer:
            """One token, minted again when refused (logout-all ends its session)."""

            def get(self, case, ctx) -> str:
                return mint()

            def set(self, case, data: str, ctx) -> None:
                case.headers = {
                    **(case.headers or {}),
                    "Authorization": f"Bearer {data}",
                }

    run = FuzzRun()
    with _in_process_probes():
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
                _record(run, event)
            elif isinstance(event, events.NonFatalError):
                run.errors.append(f"{event.label}: {event.info.format()}")
            elif isinstance(event, events.FatalError):
                run.errors.append(repr(event.exception))
    return run


def _record(run: FuzzRun, event: events.ScenarioFinished) -> None:
    recorder = event.recorder
    run.cases[event.phase.value] += len(recorder.cases)
    for case_id, node in recorder.cases.items():
        interaction = recorder.interactions.get(case_id)
        if interaction is not None and interaction.response is not None:
            label = node.value.operation.label
            run.statuses[label].add(interaction.response.status_code)
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.status != Status.FAILURE or check.failure_info is None:
                continue
            case = recorder.cases[case_id].value
            interaction = recorder.interactions.get(case_id)
            response = interaction.response if interaction else None
            failure = check.failure_info.failure
            run.findings.append(
                Finding(
                    operation=case.operation.label,
                    check=check.name,
                    title=failure.title,
                    message=failure.message,
                    status=response.status_code if response else None,
                    request=check.failure_info.code_sample.splitlines()[-1][:400],
                )
            )


def fuzz_seconds() -> int | None:
    """`make fuzz` sets FUZZ_SECONDS for a longer, randomized run per persona."""
    value = os.environ.get("FUZZ_SECONDS")
    return int(value) if value else None


def report(run: FuzzRun, persona: str, seconds: float) -> str:
    """One line of figures, then each distinct finding once."""
    lines = [
        f"{persona}: {run.total} cases {dict(run.cases)} over "
        f"{len(run.operations)} operations in {seconds:.1f} s, "
        f"{len(run.findings)} failures, {len(run.errors)} errors"
    ]
    seen: set[tuple] = set()
    for finding in run.findings:
        key = (finding.operation, finding.check, finding.status)
        if key not in seen:
            seen.add(key)
            lines.append(str(finding))
    lines.extend(f"ERROR {error[:2000]}" for error in run.errors)
    return "\n".join(lines)
