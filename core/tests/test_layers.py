"""core is the bottom layer: none of its modules imports a feature app.

Read from the source with `ast`: every import a module runs counts, a late one inside
a function included. Imports under `if TYPE_CHECKING:` never run and are left out.
core's tests are not checked: they may import feature apps (they need users).
"""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1]
FEATURE_APPS = frozenset({"accounts", "resources", "settings_app", "console", "ops"})


def _is_type_checking(test: ast.expr) -> bool:
    name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", "")
    return name == "TYPE_CHECKING"


class _Imports(ast.NodeVisitor):
    """The absolute module names a module imports, with the line of each."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        for statement in node.orelse:
            self.visit(statement)

    def visit_Import(self, node: ast.Import) -> None:
        self.found += [(node.lineno, alias.name) for alias in node.names]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        # A relative import stays inside core.
        if not node.level:
            self.found.append((node.lineno, node.module or ""))


def _core_modules() -> list[Path]:
    tests = CORE / "tests"
    return [path for path in sorted(CORE.rglob("*.py")) if tests not in path.parents]


def _imports(source: str) -> list[tuple[int, str]]:
    visitor = _Imports()
    visitor.visit(ast.parse(source))
    return visitor.found


def _feature_app_imports(source: str) -> list[tuple[int, str]]:
    return [
        (line, name)
        for line, name in _imports(source)
        if name.split(".")[0] in FEATURE_APPS
    ]


def test_core_imports_no_feature_app():
    offending = [
        f"{path.relative_to(CORE.parent)}:{line} imports {name}"
        for path in _core_modules()
        for line, name in _feature_app_imports(path.read_text())
    ]
    assert not offending, "core imports a feature app:\n" + "\n".join(offending)


def test_the_check_sees_every_core_module_but_its_tests():
    modules = {path.relative_to(CORE).as_posix() for path in _core_modules()}
    assert {"views.py", "management/commands/dev_secrets.py"} <= modules
    assert not any(module.startswith("tests/") for module in modules)


def test_late_imports_count_and_type_checking_ones_do_not():
    source = (
        "from typing import TYPE_CHECKING\n"
        "import accounts.models\n"
        "if TYPE_CHECKING:\n"
        "    from resources.models import Resource\n"
        "else:\n"
        "    from settings_app import models\n"
        "def run():\n"
        "    from ops import tunnel\n"
        "    from . import files\n"
    )
    assert _feature_app_imports(source) == [
        (2, "accounts.models"),
        (6, "settings_app"),
        (8, "ops"),
    ]


# Which project packages each app's own modules may import: layers run one way.
# accounts is the base every feature app builds on; resources and settings_app
# know only it; console (the admin API) and ops (operators' commands) read the
# apps below them; config wires everything together.
MAY_IMPORT = {
    "accounts": {"core", "config"},
    "resources": {"accounts", "core", "config"},
    "settings_app": {"accounts", "core", "config"},
    "console": {"accounts", "resources", "settings_app", "ops", "core", "config"},
    "ops": {"accounts", "resources", "settings_app", "core", "config"},
}
PROJECT_PACKAGES = {*FEATURE_APPS, "core", "config"}


def test_each_feature_app_imports_only_the_layers_below_it():
    root = CORE.parent
    offending = []
    for app, allowed in MAY_IMPORT.items():
        for path in sorted((root / app).rglob("*.py")):
            if "tests" in path.relative_to(root / app).parts:
                continue
            for line, name in _imports(path.read_text()):
                package = name.split(".")[0]
                if package in PROJECT_PACKAGES - allowed - {app}:
                    offending.append(f"{path.relative_to(root)}:{line} imports {name}")
    assert not offending, "an import runs against the layers:\n" + "\n".join(offending)
