"""No import cycles among the first-party packages.

The graph is read from the source (core/tests/source_imports.py): an edge for every
import a module runs, a late one inside a function included; none for those under
`if TYPE_CHECKING:`.
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from core.tests.source_imports import imports_of, module_name

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("accounts", "core", "resources", "settings_app", "console", "ops", "config")


def _first_party_modules() -> dict[str, Path]:
    return {
        module_name(path, ROOT): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _imported_names(source: str, module: str, *, is_package: bool) -> list[str]:
    """Every dotted name a module imports; `from a import b` gives a.b and a."""
    names = []
    for found in imports_of(source, module=module, is_package=is_package):
        names.append(found.module)
        names += [f"{found.module}.{name}" for name in found.names]
    return names


def _import_graph() -> dict[str, set[str]]:
    """Each first-party module with the first-party modules it imports."""
    modules = _first_party_modules()
    graph = {}
    for module, path in modules.items():
        names = _imported_names(
            path.read_text(), module, is_package=path.name == "__init__.py"
        )
        imported = set()
        for name in names:
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
    names = _imported_names(source, "core.tasks", is_package=False)
    assert "core.files" in names
    assert "accounts.models" not in names
    # resources' AppConfig.ready() connects its receiver through a late import.
    assert "accounts.signals" in _import_graph()["resources.apps"]
