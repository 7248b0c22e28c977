"""docs/API.md, the HTTP contract, and the OpenAPI schema the server publishes agree.

The operations are read from the contract's own tables, so an endpoint added to
docs/API.md without being built, or built without being added there, fails here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

import pytest
from django.conf import settings

CONTRACT = Path(settings.BASE_DIR) / "docs" / "API.md"
API_ROOT = "/api/v1/"
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
# Documented in the contract's Operations table but outside the versioned schema.
OUTSIDE_THE_SCHEMA = {"/api/v1/schema/"}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    success: int
    errors: frozenset[int] = field(default=frozenset())

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


def _statuses(text: str, first_digit: str) -> list[int]:
    return [int(code) for code in re.findall(rf"\b({first_digit}\d\d)\b", text)]


def _row_operations(cells: list[str], base: str) -> list[Operation]:
    head = cells[0]
    methods = [word for word in re.findall(r"[A-Z]+", head) if word in METHODS]
    paths = re.findall(r"`([^`]*)`", head)
    if not methods or not paths:
        return []
    # The last column holds the errors in the Auth table; success columns of the
    # other tables name their errors inline ("...; 400 `last_admin`").
    answer = " ".join(cells[1:])
    success_cell = cells[-1] if len(cells) == 2 else cells[2]
    per_method = [_statuses(part, "2") for part in success_cell.split(" / ")]
    errors = frozenset(_statuses(answer, "4"))
    operations = []
    for relative in paths:
        full = relative if relative.startswith("/") else f"{base}{relative}"
        if not full.startswith(API_ROOT) or full in OUTSIDE_THE_SCHEMA:
            continue
        for index, method in enumerate(methods):
            if len(per_method) == len(methods) and per_method[index]:
                success = per_method[index][0]
            else:
                success = _statuses(success_cell, "2")[0]
            operations.append(Operation(method.lower(), full, success, errors))
    return operations


def contract_operations() -> list[Operation]:
    """Every operation under /api/v1/ that a table (or the public line) lists."""
    operations: list[Operation] = []
    base = API_ROOT
    for line in CONTRACT.read_text().splitlines():
        heading = re.match(r"^## .*?`(/api/v1/[^`]*)`", line)
        if heading:
            base = heading.group(1)
        elif line.startswith("## "):
            base = API_ROOT
        public = re.match(
            r"^Public, no auth: (GET) `(/api/v1/[^`]+)` answers (\d{3})", line
        )
        if public:
            operations.append(
                Operation(
                    "get", public.group(2), int(public.group(3)), frozenset({404})
                )
            )
        if not line.startswith("| ") or line.startswith("|---"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        operations.extend(_row_operations(cells, base))
    return operations


CONTRACT_OPERATIONS = contract_operations()


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get("/api/v1/schema/?format=json")
    assert response.status_code == HTTPStatus.OK
    return response.json()


def test_the_contract_lists_the_operations_it_is_known_to_have():
    listed = {str(op) for op in CONTRACT_OPERATIONS}

    # A guard on the parser itself: a row it stops reading would go unchecked.
    assert {
        "POST /api/v1/auth/login/",
        "PATCH /api/v1/admin/users/{id}/",
        "DELETE /api/v1/resources/{id}/files/{file_id}/",
        "POST /api/v1/resources/{id}/restore/",
        "PUT /api/v1/settings/",
        "POST /api/v1/migrate/",
        "GET /api/v1/health/",
        "GET /api/v1/public/resources/{token}/",
    } <= listed


@pytest.mark.parametrize("operation", CONTRACT_OPERATIONS, ids=str)
def test_every_contract_operation_is_published_with_its_success_status(
    schema, operation
):
    published = schema["paths"].get(operation.path, {}).get(operation.method)

    assert published is not None, f"{operation} is in docs/API.md, not in the schema"
    successes = {code for code in published["responses"] if code.startswith("2")}
    assert successes == {str(operation.success)}


@pytest.mark.parametrize("operation", CONTRACT_OPERATIONS, ids=str)
def test_every_contract_error_status_is_published(schema, operation):
    published = schema["paths"].get(operation.path, {})

    # A row naming several methods names its errors once for all of them.
    siblings = [
        other
        for other in CONTRACT_OPERATIONS
        if other.path == operation.path and other.errors == operation.errors
    ]
    documented = {
        int(code)
        for other in siblings
        for code in published.get(other.method, {}).get("responses", {})
        if code.startswith("4")
    }
    assert operation.errors <= documented, operation


def test_every_published_operation_is_in_the_contract(schema):
    listed = {(op.method, op.path) for op in CONTRACT_OPERATIONS}

    published = {
        (method, path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {m.lower() for m in METHODS}
    }

    assert published - listed == set(), "published but not in docs/API.md"
