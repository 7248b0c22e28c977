"""No import cycles among the first-party packages.

The graph is read from the source with `ast`: an edge for every import a module
runs, a late one inside a function included, since moving an import into a
function only postpones the cycle. Imports under `if TYPE_CHECKING:` never run and
are left out.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("accounts", "core", "resources", "settings_app", "console", "ops", "config")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _first_party_modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _is_type_checking(test: ast.expr) -> bool:
    name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", "")
    return name == "TYPE_CHECKING"


class _ImportedNames(ast.NodeVisitor):
    """Every dotted name a module imports; `from a import b` gives a.b and a."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.package = module.split(".") if is_package else module.split(".")[:-1]
        self.names: list[str] = []

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        for statement in node.orelse:
            self.visit(statement)

    def visit_Import(self, node: ast.Import) -> None:
        self.names += [alias.name for alias in node.names]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            parent = self.package[: len(self.package) - node.level + 1]
            base = ".".join([*parent, base] if base else parent)
        self.names.append(base)
        self.names += [f"{base}.{alias.name}" for alias in node.names]


def _import_graph() -> dict[str, set[str]]:
    """Each first-party module with the first-party modules it imports."""
    modules = _first_party_modules()
    graph = {}
    for module, path in modules.items():
        visitor = _ImportedNames(module, is_package=path.name == "__init__.py")
        visitor.visit(ast.parse(path.read_text(), filename=str(path)))
        imported = set()
        for name in visitor.names:
            parts = name.split(".")
            # Importing a.b.c runs a and a.b as well.
            imported |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        graph[module] = {name for name in imported if name in modules} - {module}
    return graph


def test_the_first_party_packages_import_no_cycle():
    graph = _import_graph()
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        # graphlib lists each module before one that imports it.
        cycle = " -> ".join(reversed(exc.args[1]))
        pytest.fail(f"Import cycle (each module imports the next): {cycle}")


def test_late_imports_count_and_type_checking_ones_do_not():
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from accounts import models\n"
        "def run():\n"
        "    from core import files\n"
    )
    visitor = _ImportedNames("core.tasks", is_package=False)
    visitor.visit(ast.parse(source))
    assert "core.files" in visitor.names
    assert "accounts.models" not in visitor.names
    # resources' AppConfig.ready() connects its receiver through a late import.
    assert "accounts.signals" in _import_graph()["resources.apps"]
